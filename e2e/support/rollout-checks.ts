// A rolling update of a backend change under two bounded loads, on the prod and chart paths:
// reads on the backend Service from a frontend pod (no retry anywhere on that way), and the
// frontend's /api/ready from this machine (a probe's one attempt at the backend, never retried:
// a dropped connection shows as a failed request, since a replaced backend pod drains its
// connections before it stops; any other call the frontend had to retry in the window is in
// its log, once per call). The change is an expand step: a
// migration adds a nullable column and the new code writes it (and names itself in a response
// header). Then the data crosses the releases: the new release writes rows through its API, the
// previous one (after the rollback) reads, updates and deletes them, and the new one (rolled
// forward again) reads what the previous one did; each answer comes from a backend pod the check
// reached by a port-forward of its own after checking the pod's image, and carries the answering
// release's header (or none, for the previous release).
import { expect } from "@jest/globals";

import { WORKLOAD_FACTS } from "../../components/contract";
import { activePods, deploymentImage, isReady, kubectl, pods, podsRunImage, selectorOf, waitForOtherPodsGone, waitForRollout } from "./kube";
import type { Account } from "./browser";
import { logInAndUse, uniqueTitle } from "./browser";
import { registerNoDriftChecks } from "./checks";
import type { Database } from "./database";
import { RETRY_LOG_LINE } from "../../apps/frontend/src/lib/retry-log";
import { Load, type LoadSummary } from "./loads";
import type { E2ePath } from "./path";
import { PortForward } from "./port-forward";
import { eventually } from "../../local-cluster/shell";
import { applyExpandChange, RELEASE_HEADER, ROLLOUT_COLUMN } from "./rollout";

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
    /** A todo the new release wrote (through the browser). */
    titleOfNewRelease: string;
    /** A todo the previous release wrote through the browser after the rollback. */
    titleOfPreviousRelease: string;
    /** The rows the checks wrote through the API, as every release must read them now. */
    rows: WrittenRow[];
    /** The image IDs the container runtime reported for each release's backend pods. */
    imageIds: { before: Set<string>; after: Set<string> };
}

/** A row written through the API, and what it must hold now. */
export interface WrittenRow {
    /** What the row is for: every failure names it. */
    role: string;
    id: number;
    title: string;
    description: string | null;
    completed: boolean;
    /** As the create answered it: no later write may move it. */
    createdAt: string;
    /** What the new column must hold: the new release's name on the rows it created, NULL on the previous release's. */
    sourceRelease: string | null;
    deleted: boolean;
}

// Loads stop by themselves after this long, whatever happens to the suite.
const LOAD_MAX_SECONDS = 900;

export function registerRolloutChecks(path: E2ePath, subject: RolloutSubject): RolloutRecord {
    const release = `e2e-${path.name}-${Date.now().toString(36)}`;
    const record: RolloutRecord = {
        imageBefore: "",
        imageAfter: "",
        release,
        titleOfNewRelease: "",
        titleOfPreviousRelease: "",
        rows: [],
        imageIds: { before: new Set(), after: new Set() },
    };
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
        // The runtime's image IDs of the previous release: the new release's pods must run another.
        for (const pod of await activePods(subject.namespace, "backend")) {
            const imageId = pod.status?.containerStatuses?.find((status) => status.name === pod.spec?.containers[0]?.name)?.imageID;
            if (imageId) record.imageIds.before.add(imageId);
        }
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

    path.check("the new release, on every backend pod (its image checked, its header on every answer), writes todos through its API: each answer and the database field by field as written", async () => {
        await onRelease(path, subject.namespace, releaseOf(record, "new"), async (api) => {
            await api.logIn(subject.account());
            const written: { role: string; title: string; description: string | null; complete: boolean }[] = [
                { role: "to be edited, then completed, by the previous release", title: uniqueTitle("New release, to be edited"), description: "Written by the new release; the previous release rewrites it", complete: false },
                { role: "done, to be reopened by the previous release", title: uniqueTitle("New release, done, to be reopened"), description: null, complete: true },
                { role: "to have its description cleared and be completed by the previous release", title: uniqueTitle("New release, description to clear"), description: "The previous release clears this", complete: false },
                { role: "to be deleted by the previous release", title: uniqueTitle("New release, to be deleted"), description: "The previous release deletes this row", complete: false },
                { role: "kept as the new release wrote it", title: uniqueTitle("New release, kept ✓ ünïcödé 日本語"), description: "Two lines,\nthe second with a tab:\there", complete: true },
            ];
            for (const { role, title, description, complete } of written) {
                const created = await api.call("POST", "/todos", 201, { title, description });
                const row = rowFromCreate(role, { title, description }, created, release);
                expectRow(row, created.body, created.what);
                if (complete) await api.change(row, "POST", `/todos/${row.id}/complete`, undefined, { completed: true });
                record.rows.push(row);
            }
            await api.readsAsWritten(record.rows, [subject.titleBefore(), record.titleOfNewRelease]);
        });
        await databaseHolds(path, subject.database(), record.rows, "after the new release's writes");
    });
    return record;
}

/**
 * Rolls the backend back with ROLL_BACK and waits until only the image from before the rollout
 * runs (the replaced pods gone too); every pod is then ready on it.
 */
export async function rollBack(path: E2ePath, namespace: string, record: RolloutRecord, rollBackCommand: () => Promise<unknown>): Promise<void> {
    await rollBackendTo(path, namespace, record.imageBefore, "rollback", rollBackCommand);
}

/**
 * Rolls the backend forward again, after the rollback, with ROLL_FORWARD (the new release
 * re-applied) and waits until only the new release's image runs; every pod is then ready on it.
 */
export async function rollForward(path: E2ePath, namespace: string, record: RolloutRecord, rollForwardCommand: () => Promise<unknown>): Promise<void> {
    await rollBackendTo(path, namespace, record.imageAfter, "roll forward", rollForwardCommand);
}

async function rollBackendTo(path: E2ePath, namespace: string, image: string, label: string, command: () => Promise<unknown>): Promise<void> {
    if (!image) throw new Error(`no backend image to ${label} to: the rollout checks did not record it`);
    await path.time(label, async () => {
        await command();
        await waitForRollout(namespace, "backend");
        await waitForOtherPodsGone(namespace, "backend", image);
    });
    const running = await deploymentImage(namespace, "backend");
    path.say(`backend image after the ${label}: ${running}`);
    expect(running).toBe(image);
    await podsRunImage(namespace, "backend", image, path.say);
}

/**
 * After a rollback (two checks): the previous release runs on the expanded schema, reads every
 * todo (those the new release wrote included), and writes (adds, completes) without knowing the
 * new column, through the browser; then, through its API, it reads, updates and deletes the rows
 * the new release wrote.
 */
export function registerRolledBackReleaseWorks(path: E2ePath, subject: RolloutSubject, record: RolloutRecord): void {
    path.check("after the rollback the previous release reads everything and still writes", async () => {
        const titleAfterRollback = uniqueTitle("Written after the rollback");
        record.titleOfPreviousRelease = titleAfterRollback;
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
    registerRolledBackReleaseUsesNewRows(path, subject, record);
}

/**
 * After a rollback: the previous release, on every backend pod, reads the rows the new release
 * wrote as written (the new column neither in its answers nor in its way), updates them (edits
 * title and description, completes, reopens, clears a description) and deletes one, and adds its
 * own; every answer and then the database are compared field by field with what was written.
 */
function registerRolledBackReleaseUsesNewRows(path: E2ePath, subject: RolloutSubject, record: RolloutRecord): void {
    path.check("after the rollback the previous release, on every backend pod (its image checked, no release header), reads, updates and deletes the new release's rows: each answer and the database field by field", async () => {
        const [edited, reopened, cleared, deleted, kept] = record.rows;
        if (!edited || !reopened || !cleared || !deleted || !kept || record.rows.length !== 5) {
            throw new Error(`expected the 5 rows the new release wrote, found ${record.rows.length}: the check that writes them failed`);
        }
        await onRelease(path, subject.namespace, releaseOf(record, "previous"), async (api) => {
            await api.logIn(subject.account());
            await api.readsAsWritten(record.rows, [subject.titleBefore(), record.titleOfNewRelease]);
            const editedTitle = uniqueTitle("Edited by the previous release");
            await api.change(edited, "PATCH", `/todos/${edited.id}`, { title: editedTitle, description: "Rewritten by the previous release" }, { title: editedTitle, description: "Rewritten by the previous release" });
            await api.change(edited, "POST", `/todos/${edited.id}/complete`, undefined, { completed: true });
            await api.change(reopened, "POST", `/todos/${reopened.id}/uncomplete`, undefined, { completed: false });
            await api.change(cleared, "PATCH", `/todos/${cleared.id}`, { description: null, completed: true }, { description: null, completed: true });
            await api.call("DELETE", `/todos/${deleted.id}`, 204);
            deleted.deleted = true;
            const sent = { title: uniqueTitle("Written by the previous release"), description: "Written by the previous release, after the rollback" };
            const created = await api.call("POST", "/todos", 201, sent);
            const own = rowFromCreate("written by the previous release after the rollback", sent, created, null);
            expectRow(own, created.body, created.what);
            record.rows.push(own);
            // Everything read back, on the pods in turn: the updates, the deletion, the untouched row.
            await api.readsAsWritten(record.rows, [subject.titleBefore(), record.titleOfNewRelease]);
        });
        // The previous release's updates leave the new column as the new release wrote it.
        await databaseHolds(path, subject.database(), record.rows, "after the previous release's updates and deletion");
    });
}

/**
 * After rolling forward again: the new release, on every backend pod, reads what the previous
 * release did (the updated rows as updated, the deleted one gone, its new row and the one it
 * added through the browser), and updates the previous release's row in turn.
 */
export function registerRolledForwardReleaseReads(path: E2ePath, subject: RolloutSubject, record: RolloutRecord): void {
    path.check("after rolling forward the new release, on every backend pod (its image checked, its header on every answer), reads the previous release's writes, updates and deletion: each answer and the database field by field", async () => {
        const own = record.rows.find((row) => row.sourceRelease === null);
        if (record.rows.length !== 6 || !own) {
            throw new Error(`expected the 5 rows of the new release and the previous release's own, found ${record.rows.length} rows: a check before this one failed`);
        }
        const titles = [subject.titleBefore(), record.titleOfNewRelease, ...(record.titleOfPreviousRelease ? [record.titleOfPreviousRelease] : [])];
        await onRelease(path, subject.namespace, releaseOf(record, "new"), async (api) => {
            await api.logIn(subject.account());
            await api.readsAsWritten(record.rows, titles);
            // The new release writes on a row of the previous one: its column stays NULL (only a create sets it).
            await api.change(own, "PATCH", `/todos/${own.id}`, { description: "Edited by the new release after rolling forward" }, { description: "Edited by the new release after rolling forward" });
            await api.change(own, "POST", `/todos/${own.id}/complete`, undefined, { completed: true });
            await api.readsAsWritten(record.rows, titles);
        });
        await databaseHolds(path, subject.database(), record.rows, "after rolling forward");
    });
}

/** Which release must answer, and how to know it. */
interface Release {
    label: "the new release" | "the previous release";
    image: string;
    /** The value of RELEASE_HEADER on every answer; undefined: the header must be absent. */
    header: string | undefined;
    /** The image IDs this release's pods ran (added to), and the other release's (never one of these). */
    imageIds: Set<string>;
    otherImageIds: Set<string>;
}

function releaseOf(record: RolloutRecord, which: "new" | "previous"): Release {
    return which === "new"
        ? { label: "the new release", image: record.imageAfter, header: record.release, imageIds: record.imageIds.after, otherImageIds: record.imageIds.before }
        : { label: "the previous release", image: record.imageBefore, header: undefined, imageIds: record.imageIds.before, otherImageIds: record.imageIds.after };
}

// Local ports of the port-forwards to the backend pods: one each (the prod path's frontend has 18080).
const BACKEND_FORWARD_BASE_PORT = 18100;
const REQUEST_TIMEOUT_MS = 15_000;
const READY_WAIT_SECONDS = 60;

/**
 * Checks that every active backend pod is ready on RELEASE's image (its image ID the pushed
 * digest where there is one, and never an image ID the other release's pods ran), then opens a
 * port-forward to each pod and hands USE an API client that sends its requests to those pods in
 * turn. A pod found wrong fails before any answer is trusted; a pod that answered nothing fails.
 */
async function onRelease(path: E2ePath, namespace: string, release: Release, use: (api: ReleaseApi) => Promise<void>): Promise<void> {
    if (!release.image) throw new Error(`${release.label}'s backend image is unknown: the rollout checks did not record it`);
    // A replica the HPA has just added may still be starting: wait for it rather than skip it.
    const found = await eventually(READY_WAIT_SECONDS, "every active backend pod ready", async () => {
        const candidates = await activePods(namespace, "backend");
        return candidates.length > 0 && candidates.every(isReady) ? candidates : undefined;
    }).catch(async () => activePods(namespace, "backend"));
    if (found.length === 0) throw new Error(`no backend pod found in ${namespace}`);
    const digest = release.image.split("@")[1];
    const problems: string[] = [];
    for (const pod of found) {
        const name = pod.metadata?.name ?? "?";
        const container = pod.spec?.containers[0];
        const imageId = pod.status?.containerStatuses?.find((status) => status.name === container?.name)?.imageID ?? "";
        path.say(`backend pod ${name}: ${container?.image}, image ID ${imageId || "none"}${isReady(pod) ? "" : " (not ready)"}`);
        if (container?.image !== release.image) problems.push(`pod ${name} runs ${container?.image}, not ${release.label}'s ${release.image}`);
        if (!isReady(pod)) problems.push(`pod ${name} is not ready`);
        if (!imageId) problems.push(`pod ${name} reports no image ID`);
        else if (digest !== undefined && !imageId.endsWith(`@${digest}`)) problems.push(`pod ${name} runs image ID ${imageId}, not the digest ${digest}`);
        else if (release.otherImageIds.has(imageId)) problems.push(`pod ${name} runs image ID ${imageId}, which the other release's pods ran`);
        release.imageIds.add(imageId);
    }
    if (problems.length > 0) throw new Error(`${release.label}'s backend pods cannot be trusted to answer: ${problems.join("; ")}`);
    const forwards: PortForward[] = [];
    try {
        const targets: Target[] = [];
        for (const [index, pod] of found.entries()) {
            const name = pod.metadata?.name ?? "?";
            const port = BACKEND_FORWARD_BASE_PORT + index;
            forwards.push(await PortForward.open(namespace, `pod/${name}`, port, String(WORKLOAD_FACTS.backend.port), "/health"));
            targets.push({ pod: name, url: `http://127.0.0.1:${port}` });
        }
        const api = new ReleaseApi(release, targets, path.say);
        await use(api);
        api.everyPodAnswered();
    } finally {
        for (const forward of forwards) forward.close();
    }
}

interface Target {
    pod: string;
    url: string;
}

interface Answer {
    status: number;
    body: unknown;
    /** The request and the pod that answered it, for failure messages. */
    what: string;
}

/** The backend API, on the pods of one release in turn; an answer that another release gave fails. */
class ReleaseApi {
    private turn = 0;
    private token = "";
    private readonly answers = new Map<string, number>();

    constructor(
        private readonly release: Release,
        private readonly targets: readonly Target[],
        private readonly say: (line: string) => void,
    ) {}

    async call(method: string, urlPath: string, expectedStatus: number, body?: unknown): Promise<Answer> {
        const target = this.targets[this.turn++ % this.targets.length];
        if (!target) throw new Error("no backend pod to ask");
        const what = `${method} ${urlPath} on pod ${target.pod} (${this.release.label})`;
        let response: Response;
        try {
            response = await fetch(`${target.url}${urlPath}`, {
                method,
                headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
                body: body === undefined ? undefined : JSON.stringify(body),
                signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
            });
        } catch (error) {
            throw new Error(`${what}: no answer: ${error instanceof Error ? error.message : String(error)}`);
        }
        const text = await response.text();
        // Which code answered, before anything in the answer counts.
        const named = response.headers.get(RELEASE_HEADER) ?? undefined;
        if (named !== this.release.header) {
            throw new Error(`${what}: header ${RELEASE_HEADER} expected ${this.release.header ?? "absent (the previous release sends none)"}, got ${named ?? "absent"}: not ${this.release.label}'s code answered`);
        }
        if (response.status !== expectedStatus) throw new Error(`${what}: expected status ${expectedStatus}, got ${response.status} ${text.slice(0, 300)}`);
        this.answers.set(target.pod, (this.answers.get(target.pod) ?? 0) + 1);
        let parsed: unknown;
        try {
            parsed = text ? JSON.parse(text) : undefined;
        } catch {
            throw new Error(`${what}: the answer is not JSON: ${text.slice(0, 300)}`);
        }
        return { status: response.status, body: parsed, what };
    }

    async logIn(account: Account): Promise<void> {
        const answer = await this.call("POST", "/auth/login", 200, { email: account.email, password: account.password });
        const token = (answer.body as { access_token?: unknown } | undefined)?.access_token;
        if (typeof token !== "string" || !token) throw new Error(`${answer.what}: no access_token in ${JSON.stringify(answer.body)}`);
        this.token = token;
        this.say(`logged in as ${account.email} on ${this.release.label}`);
    }

    /** Sends a change of ROW, compares the answer field by field with ROW plus CHANGES, then keeps them in ROW. */
    async change(row: WrittenRow, method: string, urlPath: string, body: unknown, changes: Partial<Pick<WrittenRow, "title" | "description" | "completed">>): Promise<void> {
        const answer = await this.call(method, urlPath, 200, body);
        const expected = { ...row, ...changes };
        expectRow(expected, answer.body, answer.what);
        Object.assign(row, changes);
        this.say(`${answer.what}: row "${row.role}" now ${describeRow(row)}`);
    }

    /**
     * Every row by its id (a deleted one answers 404), then the list: every row that is not
     * deleted listed once and as written, no deleted one, the TITLES listed, and the list's
     * counts matching its items (the counts table the triggers keep).
     */
    async readsAsWritten(rows: readonly WrittenRow[], titles: readonly string[]): Promise<void> {
        const problems: string[] = [];
        for (const row of rows) {
            if (row.deleted) {
                const answer = await this.call("GET", `/todos/${row.id}`, 404);
                const detail = (answer.body as { detail?: unknown } | undefined)?.detail;
                if (detail !== `todo ${row.id} not found`) problems.push(`${rowName(row)}, ${answer.what}: detail expected "todo ${row.id} not found", got ${JSON.stringify(detail)}`);
            } else {
                const answer = await this.call("GET", `/todos/${row.id}`, 200);
                problems.push(...rowProblems(row, answer.body).map((problem) => `${rowName(row)}, ${answer.what}: ${problem}`));
            }
        }
        const page = await this.call("GET", "/todos?status=all&limit=100", 200);
        const { items, counts, next_cursor: nextCursor } = page.body as { items?: unknown[]; counts?: { all?: number; open?: number; done?: number }; next_cursor?: string | null };
        if (!Array.isArray(items)) throw new Error(`${page.what}: no items in ${JSON.stringify(page.body).slice(0, 300)}`);
        const listed = items as { id?: unknown; title?: unknown; completed?: unknown }[];
        for (const row of rows) {
            const matches = listed.filter((item) => item.id === row.id);
            if (row.deleted) {
                if (matches.length > 0) problems.push(`${rowName(row)}, deleted, is still listed by ${page.what}`);
            } else if (matches.length !== 1) {
                problems.push(`${rowName(row)} is listed ${matches.length} times by ${page.what}`);
            } else {
                problems.push(...rowProblems(row, matches[0]).map((problem) => `${rowName(row)}, as listed by ${page.what}: ${problem}`));
            }
        }
        for (const title of titles.filter((known) => known !== "")) {
            if (!listed.some((item) => item.title === title)) problems.push(`"${title}" is not listed by ${page.what}`);
        }
        if (nextCursor !== null) problems.push(`${page.what}: the account's todos do not fit one page of 100 (next_cursor ${JSON.stringify(nextCursor)})`);
        const done = listed.filter((item) => item.completed === true).length;
        const listedCounts = { all: listed.length, open: listed.length - done, done };
        if (counts?.all !== listedCounts.all || counts.open !== listedCounts.open || counts.done !== listedCounts.done) problems.push(`${page.what}: counts expected ${JSON.stringify(listedCounts)} (the listed items), got ${JSON.stringify(counts)}`);
        this.say(`${this.release.label} read ${rows.length} rows by id and listed ${listed.length} todos (${JSON.stringify(counts)}): ${problems.length === 0 ? "all as written" : `${problems.length} problems`}`);
        if (problems.length > 0) throw new Error(problems.join("\n"));
    }

    everyPodAnswered(): void {
        const silent = this.targets.filter((target) => !this.answers.has(target.pod)).map((target) => target.pod);
        this.say(`answers per pod: ${JSON.stringify(Object.fromEntries(this.answers))}`);
        if (silent.length > 0) throw new Error(`backend pods of ${this.release.label} that answered nothing: ${silent.join(", ")}`);
    }
}

/** The fields of a todo in the API's answers: both releases answer these, and only these. */
const TODO_FIELDS = ["completed", "created_at", "description", "id", "title", "updated_at"];

/** The row SENT to POST /todos made: what was sent, under the id and creation time the create answered. */
function rowFromCreate(role: string, sent: { title: string; description: string | null }, created: Answer, sourceRelease: string | null): WrittenRow {
    const todo = created.body as { id?: unknown; created_at?: unknown } | undefined;
    if (typeof todo?.id !== "number" || typeof todo.created_at !== "string") throw new Error(`${created.what}: no todo id or created_at in ${JSON.stringify(created.body)}`);
    return { role, id: todo.id, title: sent.title, description: sent.description, completed: false, createdAt: todo.created_at, sourceRelease, deleted: false };
}

const rowName = (row: WrittenRow): string => `row "${row.role}" (id ${row.id})`;

const describeRow = (row: WrittenRow): string =>
    JSON.stringify({ title: row.title, description: row.description, completed: row.completed, [ROLLOUT_COLUMN]: row.sourceRelease });

/** How an answer's todo differs from ROW, field by field (expected vs got). */
function rowProblems(row: WrittenRow, got: unknown): string[] {
    if (typeof got !== "object" || got === null) return [`expected a todo, got ${JSON.stringify(got)}`];
    const todo = got as Record<string, unknown>;
    const problems: string[] = [];
    const fields = Object.keys(todo).sort();
    if (JSON.stringify(fields) !== JSON.stringify(TODO_FIELDS)) problems.push(`fields expected ${TODO_FIELDS.join(", ")}, got ${fields.join(", ")}`);
    const same = (field: string, expected: unknown): void => {
        if (todo[field] !== expected) problems.push(`${field} expected ${JSON.stringify(expected)}, got ${JSON.stringify(todo[field])}`);
    };
    same("id", row.id);
    same("title", row.title);
    same("description", row.description);
    same("completed", row.completed);
    const createdAt = todo.created_at;
    if (typeof createdAt !== "string" || Date.parse(createdAt) !== Date.parse(row.createdAt)) problems.push(`created_at expected ${row.createdAt}, got ${JSON.stringify(createdAt)}`);
    const updatedAt = todo.updated_at;
    if (typeof updatedAt !== "string" || !(Date.parse(updatedAt) >= Date.parse(row.createdAt))) problems.push(`updated_at expected a time from ${row.createdAt} on, got ${JSON.stringify(updatedAt)}`);
    return problems;
}

function expectRow(row: WrittenRow, got: unknown, what: string): void {
    const problems = rowProblems(row, got);
    if (problems.length > 0) throw new Error(`${rowName(row)}, ${what}: ${problems.join("; ")}`);
}

/**
 * The database holds every row that is not deleted as written (title, description, done state,
 * and the new column: the new release's name, or NULL on the previous release's rows), and none
 * of the deleted ones.
 */
async function databaseHolds(path: E2ePath, database: Database, rows: readonly WrittenRow[], when: string): Promise<void> {
    if (rows.length === 0) throw new Error(`no rows to look for in the database ${when}`);
    const text = await database.query(
        `SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'title', title, 'description', description, 'completed', completed, 'source_release', ${ROLLOUT_COLUMN}) ORDER BY id), '[]'::jsonb) FROM todos WHERE id = ANY(:'ids'::bigint[])`,
        { ids: `{${rows.map((row) => row.id).join(",")}}` },
    );
    const found = JSON.parse(text) as { id: number; title: string; description: string | null; completed: boolean; source_release: string | null }[];
    const problems: string[] = [];
    for (const row of rows) {
        const stored = found.find((candidate) => candidate.id === row.id);
        if (row.deleted) {
            if (stored) problems.push(`${rowName(row)}, deleted, is still in the database: ${JSON.stringify(stored)}`);
            continue;
        }
        if (!stored) {
            problems.push(`${rowName(row)} is not in the database`);
            continue;
        }
        const expected = { title: row.title, description: row.description, completed: row.completed, source_release: row.sourceRelease };
        for (const [field, value] of Object.entries(expected)) {
            const got = stored[field as keyof typeof expected];
            if (got !== value) problems.push(`${rowName(row)} in the database, ${field === "source_release" ? ROLLOUT_COLUMN : field}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`);
        }
    }
    path.say(`database ${when}: ${found.length} of the ${rows.length} rows (${rows.filter((row) => row.deleted).length} deleted) ${problems.length === 0 ? "as written" : `with ${problems.length} problems`}`);
    if (problems.length > 0) throw new Error(problems.join("\n"));
}
