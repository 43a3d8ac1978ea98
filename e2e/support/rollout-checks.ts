// A rolling update of a backend change under two bounded loads, on the prod and chart paths:
// reads on the backend Service from a frontend pod (no retry anywhere on that way), and the
// frontend's /api/ready from this machine (the frontend's backend client retries a read whose
// kept-alive connection dropped, and logs it: such a read counts as failed, since a replaced
// backend pod drains its connections before it stops). The change is an expand step: a
// migration adds a nullable column and the new code writes it.
import { expect } from "@jest/globals";

import { deploymentImage, kubectl, pods, podsRunImage, selectorOf, waitForOtherPodsGone, waitForRollout } from "./kube";
import type { Account } from "./browser";
import { logInAndUse, uniqueTitle } from "./browser";
import { registerNoDriftChecks } from "./checks";
import type { Database } from "./database";
import { RETRY_LOG_LINE } from "../../apps/frontend/src/lib/retry-log";
import { Load, type LoadSummary } from "./loads";
import type { E2ePath } from "./path";
import { applyExpandChange, ROLLOUT_COLUMN } from "./rollout";

export interface RolloutSubject {
    namespace: string;
    database: () => Database;
    frontendUrl: () => string;
    /** The account and todo written before the rollout. */
    account: () => Account;
    titleBefore: () => string;
    /** For stacks whose images are built locally: build and load the changed image before the `up`. */
    buildImages?: () => Promise<void>;
    /** Registers checks of the changed program before it rolls out (a pull request's preview of it). */
    registerBeforeRollout?: () => void;
}

export interface RolloutRecord {
    imageBefore: string;
    imageAfter: string;
    /** What the new release writes into the new column. */
    release: string;
    /** A todo the new release wrote. */
    titleOfNewRelease: string;
}

// Loads stop by themselves after this long, whatever happens to the suite.
const LOAD_MAX_SECONDS = 900;

export function registerRolloutChecks(path: E2ePath, subject: RolloutSubject): RolloutRecord {
    const release = `e2e-${path.name}-${Date.now().toString(36)}`;
    const record: RolloutRecord = { imageBefore: "", imageAfter: "", release, titleOfNewRelease: "" };
    const loads: { reads?: Load; ready?: Load } = {};
    const summaries: { reads?: LoadSummary; ready?: LoadSummary } = {};
    const window = { start: 0, end: 0 };
    let rolloutError: Error | undefined;

    const { buildImages } = subject;
    if (buildImages) {
        path.require("the changed backend (with its migration) builds into a new image", async () => {
            applyExpandChange(path.projectDir, release);
            await path.time("rebuild", buildImages);
        });
    } else {
        path.require("the backend change (a migration and the code writing its column) is in the program's copy", () => {
            applyExpandChange(path.projectDir, release);
        });
    }
    subject.registerBeforeRollout?.();

    path.require("pulumi up rolls the changed backend out under load", async () => {
        record.imageBefore = await deploymentImage(subject.namespace, "backend");
        loads.reads = Load.fromFrontendPod("backend-reads", subject.namespace, "read", LOAD_MAX_SECONDS, 4);
        loads.ready = Load.onFrontend("frontend-ready", subject.frontendUrl(), LOAD_MAX_SECONDS, 2);
        try {
            await Promise.all([loads.reads.started(), loads.ready.started()]);
            window.start = Date.now();
            await path.time("rollout", () => path.stack().up());
            // Pulumi's Deployment await can report success while old pods still run (the HPA
            // resizing the Deployment mid-rollout is one way): the loads go on until kubectl says done.
            const listing = await kubectl(["-n", subject.namespace, "get", "pods", "-l", selectorOf("backend"), "--no-headers"]);
            path.say(`backend pods when pulumi up returned:\n${listing.trimEnd()}`);
            try {
                await waitForRollout(subject.namespace, "backend");
                await waitForOtherPodsGone(subject.namespace, "backend", await deploymentImage(subject.namespace, "backend"));
            } catch (error) {
                rolloutError = error instanceof Error ? error : new Error(String(error));
            }
            window.end = Date.now();
        } finally {
            summaries.reads = await loads.reads.stop();
            summaries.ready = await loads.ready.stop();
            path.say(`load backend-reads: ${JSON.stringify(summaries.reads)}`);
            path.say(`load frontend-ready: ${JSON.stringify(summaries.ready)}`);
        }
    }, { timeoutSeconds: 2400 });

    path.check("the rolling update completes (kubectl rollout status, and the replaced pods gone)", () => {
        if (rolloutError) throw rolloutError;
    });

    path.check("the code change gives the backend a new image (content tag, and digest where pushed)", async () => {
        record.imageAfter = await deploymentImage(subject.namespace, "backend");
        path.say(`backend image: ${record.imageBefore} -> ${record.imageAfter}`);
        const [tagBefore, digestBefore] = record.imageBefore.split("@");
        const [tagAfter, digestAfter] = record.imageAfter.split("@");
        expect(tagAfter).not.toBe(tagBefore);
        if (digestBefore !== undefined) expect(digestAfter).not.toBe(digestBefore);
    });

    path.check("every backend pod runs the new image", async () => {
        await podsRunImage(subject.namespace, "backend", record.imageAfter, path.say);
    });

    path.check("both loads ran across the whole rollout window, with requests in it", () => {
        path.say(`rollout window: ${((window.end - window.start) / 1000).toFixed(1)} s`);
        for (const load of [loads.reads, loads.ready]) {
            if (!load) throw new Error("the loads did not run");
            const coverage = load.coverage(window.start, window.end);
            path.say(`${load.name}: ${JSON.stringify(coverage)}`);
            expect(window.end).toBeGreaterThan(window.start);
            expect(coverage).toMatchObject({ startedBefore: true, endedAfter: true });
            expect(coverage.requestsInWindow).toBeGreaterThan(0);
            // A request waits 10 s at most before it counts as failed.
            expect(coverage.longestStallSeconds).toBeLessThan(15);
        }
    });

    path.check("zero failed requests on the backend Service during the rolling update", () => {
        const summary = summaries.reads;
        path.say(`backend reads: ${summary?.requests} requests, ${summary?.failed} failed ${JSON.stringify(summary?.failures ?? [])}`);
        expect(summary?.requests ?? 0).toBeGreaterThan(0);
        expect(summary?.failed).toBe(0);
    });

    path.check("zero failed requests through the frontend during the rolling update, and no read it had to send twice", async () => {
        const summary = summaries.ready;
        const since = new Date(window.start - 1000).toISOString();
        // Pod by pod: a pod the HPA has just added has no log yet, and then no retry to count.
        const started = (await pods(subject.namespace, selectorOf("frontend"))).filter((pod) => pod.status?.containerStatuses?.some((status) => status.state?.running ?? status.state?.terminated));
        if (started.length === 0) throw new Error("no frontend pod to read the logs of");
        const retried: string[] = [];
        for (const pod of started) {
            const logs = await kubectl(["-n", subject.namespace, "logs", pod.metadata?.name ?? "", "-c", "frontend", "--since-time", since]);
            retried.push(...logs.split("\n").filter((line) => RETRY_LOG_LINE.test(line)));
        }
        path.say(`frontend /api/ready: ${summary?.requests} requests, ${summary?.failed} failed ${JSON.stringify(summary?.failures ?? [])}; reads the frontend sent twice: ${retried.length}`);
        for (const line of retried.slice(0, 5)) path.say(`  ${line}`);
        expect(summary?.requests ?? 0).toBeGreaterThan(0);
        expect(summary?.failed).toBe(0);
        expect(retried).toEqual([]);
    });

    path.check(`the new release's migration added the nullable column todos.${ROLLOUT_COLUMN}`, async () => {
        const column = await subject.database().query(
            "SELECT is_nullable FROM information_schema.columns WHERE table_name = 'todos' AND column_name = :'column'",
            { column: ROLLOUT_COLUMN },
        );
        path.say(`todos.${ROLLOUT_COLUMN} nullable: ${column || "(no such column)"}`);
        expect(column).toBe("YES");
    });

    path.check("the new release reads the earlier data and writes the new column", async () => {
        record.titleOfNewRelease = uniqueTitle("Written by the new release");
        await logInAndUse(subject.frontendUrl(), subject.account(), [subject.titleBefore()], path.say, record.titleOfNewRelease);
        const written = await subject.database().query(`SELECT coalesce(${ROLLOUT_COLUMN}, 'NULL') FROM todos WHERE title = :'title'`, { title: record.titleOfNewRelease });
        path.say(`${ROLLOUT_COLUMN} of "${record.titleOfNewRelease}": ${written}`);
        expect(written).toBe(release);
    });

    registerNoDriftChecks(path, "the rollout", subject.namespace);
    return record;
}

/**
 * Rolls the backend back with ROLL_BACK and waits until only the image from before the rollout
 * runs (the replaced pods gone too); every pod is then ready on it.
 */
export async function rollBack(path: E2ePath, namespace: string, record: RolloutRecord, rollBackCommand: () => Promise<unknown>): Promise<void> {
    await path.time("rollback", async () => {
        await rollBackCommand();
        await waitForRollout(namespace, "backend");
        await waitForOtherPodsGone(namespace, "backend", record.imageBefore);
    });
    const image = await deploymentImage(namespace, "backend");
    path.say(`backend image after the rollback: ${image}`);
    expect(image).toBe(record.imageBefore);
    await podsRunImage(namespace, "backend", record.imageBefore, path.say);
}

/**
 * After a rollback: the previous release runs on the expanded schema, reads every todo (those the
 * new release wrote included), and writes (adds, completes) without knowing the new column.
 */
export function registerRolledBackReleaseWorks(path: E2ePath, subject: RolloutSubject, record: RolloutRecord): void {
    path.check("after the rollback the previous release reads everything and still writes", async () => {
        const titleAfterRollback = uniqueTitle("Written after the rollback");
        await logInAndUse(subject.frontendUrl(), subject.account(), [subject.titleBefore(), record.titleOfNewRelease], path.say, titleAfterRollback);
        const rows = await subject.database().query(
            `SELECT title || ' | ' || coalesce(${ROLLOUT_COLUMN}, 'NULL') || ' | ' || CASE WHEN completed THEN 'done' ELSE 'open' END FROM todos WHERE title IN (:'before', :'new', :'after') ORDER BY id`,
            { before: subject.titleBefore(), new: record.titleOfNewRelease, after: titleAfterRollback },
        );
        path.say(`rows (title | ${ROLLOUT_COLUMN} | state):\n${rows}`);
        const lines = rows.split("\n");
        expect(lines).toHaveLength(3);
        expect(lines[1]).toBe(`${record.titleOfNewRelease} | ${record.release} | done`);
        expect(lines[2]).toBe(`${titleAfterRollback} | NULL | done`);
    });
}
