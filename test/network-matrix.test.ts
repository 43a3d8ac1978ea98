// The NetworkPolicy matrix's judgement of a probe's answer (e2e/support/network-policies.ts):
// only the failures a policy causes count as refused, a name that does not resolve never does,
// and a probe that reached nothing makes the matrix fail. The probe script itself runs here too,
// against a closed and an open port on loopback.
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";

import {
    type Answer,
    classifyAnswer,
    policyRefusals,
    PROBE_SCRIPT,
    probesWithoutPassedAllowedRow,
    type RawProbeAnswer,
    rowFailure,
    rowPasses,
} from "../e2e/support/network-policies";

// Lines the probe script printed (Python 3.11), for each way a connection ends.
const LINES: Record<string, RawProbeAnswer> = {
    connected: { stage: "connect", address: "10.244.0.12", error: null, errno: null, message: null, ms: 2 },
    resolved: { stage: "resolve", address: "10.96.0.1", error: null, errno: null, message: null, ms: 3 },
    // iptables REJECT (ICMP port unreachable; kube-router's), or a closed port.
    refused: { stage: "connect", address: "10.96.14.7", error: "ConnectionRefusedError", errno: "ECONNREFUSED", message: "[Errno 111] Connection refused", ms: 1 },
    // iptables DROP: the socket's deadline passes during connect.
    dropped: { stage: "connect", address: "10.244.0.9", error: "TimeoutError", errno: null, message: "timed out", ms: 3004 },
    kernelTimeout: { stage: "connect", address: "10.244.0.9", error: "TimeoutError", errno: "ETIMEDOUT", message: "[Errno 110] Connection timed out", ms: 3004 },
    // REJECT --reject-with icmp-host-prohibited, or icmp-net-prohibited (the cluster's own forward rule).
    hostUnreachable: { stage: "connect", address: "10.244.0.9", error: "OSError", errno: "EHOSTUNREACH", message: "[Errno 113] No route to host", ms: 2 },
    netUnreachable: { stage: "connect", address: "10.200.0.1", error: "OSError", errno: "ENETUNREACH", message: "[Errno 101] Network is unreachable", ms: 2 },
    noSuchName: { stage: "resolve", address: null, error: "gaierror", errno: "EAI_NONAME", message: "[Errno -2] Name or service not known", ms: 5 },
    dnsTimeout: { stage: "resolve", address: null, error: "gaierror", errno: "EAI_AGAIN", message: "[Errno -3] Temporary failure in name resolution", ms: 10010 },
};

const outcome = (name: string): Answer["outcome"] => {
    const line = LINES[name];
    if (!line) throw new Error(`no line ${name}`);
    return classifyAnswer(line).outcome;
};

describe("classifyAnswer", () => {
    it.each([
        ["connected", "connected"],
        ["resolved", "resolved"],
        ["refused", "refused"],
        ["dropped", "timed out"],
        ["kernelTimeout", "timed out"],
        ["hostUnreachable", "error"],
        ["netUnreachable", "error"],
        ["noSuchName", "unresolved"],
        ["dnsTimeout", "unresolved"],
    ])("%s is %s", (line, expected) => {
        expect(outcome(line)).toBe(expected);
    });

    it("says what happened and where", () => {
        expect(classifyAnswer(LINES.refused as RawProbeAnswer).detail).toBe("connect failed (10.96.14.7): ConnectionRefusedError ECONNREFUSED: [Errno 111] Connection refused");
        expect(classifyAnswer(LINES.noSuchName as RawProbeAnswer).detail).toBe("resolve failed: gaierror EAI_NONAME: [Errno -2] Name or service not known");
        expect(classifyAnswer(LINES.connected as RawProbeAnswer).detail).toBe("connected to 10.244.0.12");
    });
});

describe("rowPasses", () => {
    const offline = policyRefusals("offline");
    const context = policyRefusals("context");

    it("passes a refused row on ECONNREFUSED only on the offline cluster (kube-router REJECTs)", () => {
        expect(rowPasses("refused", outcome("refused"), offline)).toBe(true);
        expect(rowPasses("refused", outcome("dropped"), offline)).toBe(false);
    });

    it("passes a refused row on ECONNREFUSED or a connect timeout on a --context cluster (DROP)", () => {
        expect(rowPasses("refused", outcome("refused"), context)).toBe(true);
        expect(rowPasses("refused", outcome("dropped"), context)).toBe(true);
        expect(rowPasses("refused", outcome("kernelTimeout"), context)).toBe(true);
    });

    it.each(["noSuchName", "dnsTimeout", "hostUnreachable", "netUnreachable", "connected", "resolved"])("never passes a refused row on %s", (line) => {
        expect(rowPasses("refused", outcome(line), context)).toBe(false);
        expect(rowPasses("refused", outcome(line), offline)).toBe(false);
    });

    it("passes an allowed row only when it reached", () => {
        expect(rowPasses("allowed", "connected", offline)).toBe(true);
        expect(rowPasses("allowed", "resolved", offline)).toBe(true);
        expect(rowPasses("allowed", "answered", offline)).toBe(true);
        for (const line of ["refused", "dropped", "noSuchName", "hostUnreachable"]) expect(rowPasses("allowed", outcome(line), context)).toBe(false);
    });
});

describe("rowFailure", () => {
    it("names an unresolved name as such, with the resolver's words", () => {
        const message = rowFailure("refused", classifyAnswer(LINES.noSuchName as RawProbeAnswer), policyRefusals("offline"));
        expect(message).toContain("the name did not resolve");
        expect(message).toContain("EAI_NONAME");
    });

    it("names the refusal expected and what was found", () => {
        const message = rowFailure("refused", classifyAnswer(LINES.dropped as RawProbeAnswer), policyRefusals("offline"));
        expect(message).toBe("expected refused (refused, as a policy refuses here), found timed out: connect failed (10.244.0.9): TimeoutError: timed out");
    });
});

describe("probesWithoutPassedAllowedRow", () => {
    const probes = ["frontend", "stranger", "postgres"];

    it("names a probe that has refused rows only, or whose allowed rows all failed", () => {
        const results = [
            { by: "frontend", expected: "allowed" as const, passed: true },
            { by: "frontend", expected: "refused" as const, passed: true },
            { by: "stranger", expected: "refused" as const, passed: true },
            { by: "postgres", expected: "allowed" as const, passed: false },
            { by: "postgres", expected: "refused" as const, passed: true },
        ];
        expect(probesWithoutPassedAllowedRow(probes, results)).toEqual(["stranger", "postgres"]);
    });

    it("names none when each probe reached something", () => {
        expect(probesWithoutPassedAllowedRow(probes, probes.map((by) => ({ by, expected: "allowed" as const, passed: true })))).toEqual([]);
    });
});

describe("the probe script", () => {
    const probe = (...args: string[]): Answer => {
        const result = spawnSync("python3", ["-c", PROBE_SCRIPT, ...args], { encoding: "utf8", timeout: 30_000 });
        expect(result.status).toBe(0);
        return classifyAnswer(JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as RawProbeAnswer);
    };
    let server: Server;
    let open = 0;
    let closed = 0;

    beforeAll(async () => {
        const listen = (s: Server) =>
            new Promise<number>((resolve) => {
                s.listen(0, "127.0.0.1", () => {
                    resolve((s.address() as { port: number }).port);
                });
            });
        const spare = createServer();
        closed = await listen(spare);
        await new Promise((resolve) => spare.close(resolve));
        server = createServer((socket) => socket.destroy());
        open = await listen(server);
    });

    afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
    });

    it("connects to a listener", () => {
        expect(probe("connect", "127.0.0.1", String(open), "3").outcome).toBe("connected");
    });

    it("reports a closed port as ECONNREFUSED", () => {
        const answer = probe("connect", "127.0.0.1", String(closed), "3");
        expect(answer.outcome).toBe("refused");
        expect(answer.detail).toContain("ECONNREFUSED");
    });

    it("resolves a name", () => {
        expect(probe("resolve", "localhost").outcome).toBe("resolved");
    });
});
