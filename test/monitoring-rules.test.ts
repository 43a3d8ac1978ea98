// The alert rules and the dashboard's queries, checked by Prometheus's own promtool (built from
// the Go module proxy into the cache by test/tools/prometheus.sh): the rule file is valid, each
// alert fires on series that should fire it and stays quiet on series that should not
// (test/monitoring/alert-rules.test.yaml), a broken alert makes those tests fail, and every
// query of the Grafana dashboard parses as PromQL once Grafana's variables are filled in.
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import * as yaml from "js-yaml";

import { ALERT_RULES_FILE, alertRules, alertRulesText, dashboardJson, NAMESPACE_PLACEHOLDER, type RuleFile } from "../components/monitoring";
import { PROJECT_ROOT } from "./harness";

const NAMESPACE = "todo-app";
const TESTS_FILE = path.join(PROJECT_ROOT, "test", "monitoring", "alert-rules.test.yaml");
/** What Grafana puts in a query for its variables: the namespace picked, and a rate window. */
const GRAFANA_VARIABLES: Record<string, string> = { $namespace: NAMESPACE, $__rate_interval: "1m" };

let promtool = "";
let workDir = "";

beforeAll(() => {
    // Builds promtool on a cold machine (minutes, once); later runs find it in the cache.
    const output = execFileSync("bash", [path.join(PROJECT_ROOT, "test", "tools", "prometheus.sh"), "promtool"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    promtool = path.join(output.trim().split("\n").pop() ?? "", "promtool");
    workDir = mkdtempSync(path.join(tmpdir(), "todo-promtool-"));
}, 30 * 60 * 1000);

afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
});

/** Runs promtool; its output (both streams) and exit status. */
function runPromtool(...args: string[]): { status: number | null; output: string } {
    const result = spawnSync(promtool, args, { encoding: "utf8" });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Writes a rule file (named as the tests file expects) and the tests beside it, in a folder of their own; runs the tests. */
function testRules(ruleText: string): { status: number | null; output: string } {
    const dir = mkdtempSync(path.join(workDir, "rules-"));
    writeFileSync(path.join(dir, "alert-rules.yaml"), ruleText);
    copyFileSync(TESTS_FILE, path.join(dir, "alert-rules.test.yaml"));
    return runPromtool("test", "rules", path.join(dir, "alert-rules.test.yaml"));
}

interface AlertTest {
    alertname: string;
    exp_alerts?: unknown[];
}

describe("alert rules", () => {
    test("promtool finds the rule file valid", () => {
        const file = path.join(workDir, "alert-rules.yaml");
        writeFileSync(file, alertRulesText(NAMESPACE));
        const result = runPromtool("check", "rules", file);
        expect(result.output).toContain("SUCCESS: 5 rules found");
        expect(result.status).toBe(0);
    });

    test("each alert fires on series that should fire it, and stays quiet on series that should not", () => {
        const result = testRules(alertRulesText(NAMESPACE));
        expect(result.output).toContain("SUCCESS");
        expect(result.status).toBe(0);
    });

    test("the tests see every alert both fire and stay quiet", () => {
        const tests = (yaml.load(readFileSync(TESTS_FILE, "utf8")) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap((entry) => entry.alert_rule_test ?? []);
        const alerts = alertRules(NAMESPACE).groups.flatMap((group) => group.rules.map((rule) => rule.alert));
        expect(alerts).toHaveLength(5);
        for (const alert of alerts) {
            const cases = tests.filter((entry) => entry.alertname === alert);
            expect([alert, cases.some((entry) => (entry.exp_alerts ?? []).length > 0), cases.some((entry) => (entry.exp_alerts ?? []).length === 0)]).toEqual([alert, true, true]);
        }
    });

    // The tests must catch a broken rule: each of these breaks one alert, and promtool's tests fail.
    test.each([
        ["the error ratio's threshold moved to 50 %", "            > 0.05", "            > 0.5"],
        ["the latency alert waiting 30 minutes", "        for: 10m", "        for: 30m"],
        ["the restart alert counting every namespace", 'kube_pod_container_status_restarts_total{namespace="__NAMESPACE__"}', "kube_pod_container_status_restarts_total"],
        ["the HPA alert no longer leaving out pinned HPAs", "          unless on (namespace, horizontalpodautoscaler)", "          or on (namespace, horizontalpodautoscaler)"],
        ["the readiness alert counting completed pods", 'phase="Running"', 'phase=~"Running|Succeeded"'],
    ])("promtool's tests fail with %s", (_broken, from, to) => {
        const original = readFileSync(ALERT_RULES_FILE, "utf8");
        expect(original).toContain(from);
        const broken = original.replace(from, to).replaceAll(NAMESPACE_PLACEHOLDER, NAMESPACE);
        const result = testRules(broken);
        expect(result.output).toContain("FAILED");
        expect(result.status).not.toBe(0);
    });
});

interface Panel {
    title: string;
    targets?: { refId: string; expr: string }[];
}

/** Each of the dashboard's queries as a recording rule, the way Grafana sends it; promtool parses them. */
function dashboardQueriesAsRules(dashboard: { panels: Panel[] }): RuleFile {
    const rules = dashboard.panels.flatMap((panel, index) =>
        (panel.targets ?? []).map((target) => ({
            record: `todo_dashboard:panel_${String(index + 1)}_${target.refId}`,
            expr: Object.entries(GRAFANA_VARIABLES).reduce((expr, [variable, value]) => expr.replaceAll(variable, value), target.expr),
        })),
    );
    return { groups: [{ name: "dashboard-queries", rules }] };
}

function checkQueries(rules: RuleFile): { status: number | null; output: string } {
    const file = path.join(mkdtempSync(path.join(workDir, "dashboard-")), "dashboard-queries.yaml");
    writeFileSync(file, yaml.dump(rules));
    return runPromtool("check", "rules", file);
}

describe("dashboard queries", () => {
    const dashboard = JSON.parse(dashboardJson()) as { panels: Panel[]; templating: { list: { name: string }[] } };
    const rules = dashboardQueriesAsRules(dashboard);

    test("every query uses only the variables the dashboard defines, or Grafana's own", () => {
        const defined = dashboard.templating.list.map((variable) => `$${variable.name}`);
        expect(defined).toEqual(["$datasource", "$namespace"]);
        const queries = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
        expect(queries.length).toBeGreaterThanOrEqual(dashboard.panels.length);
        expect(queries.filter((expr) => expr.includes("$"))).toEqual([]);
    });

    test("every query is valid PromQL (promtool)", () => {
        const result = checkQueries(rules);
        expect(result.output).toContain(`SUCCESS: ${String(rules.groups[0]?.rules.length)} rules found`);
        expect(result.status).toBe(0);
    });

    test("the server errors panel shows 0 for a component that answered no 5xx, and the ratio for one that did (promtool)", () => {
        // Without its `or 0 * ...`, the ratio of a component with no 5xx is no series at all: a
        // panel that says "no data" while the app is healthy.
        const panel = dashboard.panels.find((candidate) => candidate.title === "Server errors");
        const expr = Object.entries(GRAFANA_VARIABLES).reduce((text, [variable, value]) => text.replaceAll(variable, value), panel?.targets?.[0]?.expr ?? "");
        const dir = mkdtempSync(path.join(workDir, "server-errors-"));
        writeFileSync(path.join(dir, "none.yaml"), yaml.dump({ groups: [] }));
        const series = (job: string, status: string, perScrape: number) => ({ series: `http_requests_total{namespace="${NAMESPACE}", job="${job}", status="${status}"}`, values: `0+${String(perScrape)}x40` });
        const tests = {
            rule_files: ["none.yaml"],
            tests: [
                {
                    interval: "15s",
                    // backend: 1 request/s, all 200; frontend: 3/s answered 200 and 1/s answered 502.
                    input_series: [series("backend", "200", 15), series("frontend", "200", 45), series("frontend", "502", 15)],
                    promql_expr_test: [{ expr, eval_time: "10m", exp_samples: [{ labels: '{job="backend"}', value: 0 }, { labels: '{job="frontend"}', value: 0.25 }] }],
                },
            ],
        };
        writeFileSync(path.join(dir, "server-errors.test.yaml"), yaml.dump(tests));
        const result = runPromtool("test", "rules", path.join(dir, "server-errors.test.yaml"));
        expect(result.output).toContain("SUCCESS");
        expect(result.status).toBe(0);
    });

    test("a broken query fails the check", () => {
        const [first, ...rest] = rules.groups[0]?.rules ?? [];
        const broken = { ...(first ?? { record: "none" }), expr: 'sum by (job) (rate(http_requests_total{namespace="todo-app"}[1m])' };
        const result = checkQueries({ groups: [{ name: "dashboard-queries", rules: [broken, ...rest] }] });
        expect(result.output).toContain('"todo_dashboard:panel_1_A": could not parse expression');
        expect(result.output).toContain("unclosed left parenthesis");
        expect(result.status).not.toBe(0);
    });
});
