// Bad configuration is refused before any resource exists, with the key and the accepted values,
// as a Pulumi RunError: the CLI prints its message alone, without a stack trace.
import { readFileSync } from "node:fs";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { ConfigError, normaliseDatabaseUrl, parseStackConfig } from "../stacks/config";
import { CONFIG_KEYS, type ConfigKey, rawConfigSchema, SECRET_KEYS } from "../stacks/schema";
import { parseQuantity } from "../stacks/quantity";
import { PROJECT, PROJECT_ROOT, projectConfigDeclarations, runProgram, stackConfig } from "./harness";

const NEON_URL = "postgresql://alice:s3cret@ep-cool-name-123456.eu-central-1.aws.neon.tech/todo";
const JWT = "a-jwt-signing-key-that-is-long-enough-1234";

/** A complete, valid prod configuration as a user would set it, plus overrides. */
function prod(overrides: Partial<Record<ConfigKey, string>> = {}): Partial<Record<ConfigKey, string>> {
    const values: Partial<Record<ConfigKey, string>> = {};
    for (const [key, value] of Object.entries(stackConfig("prod"))) {
        values[key.slice(PROJECT.length + 1) as ConfigKey] = value;
    }
    return { ...values, imageRepository: "docker.io/alice", registryUsername: "alice", registryPassword: "dckr_pat_token", databaseUrl: NEON_URL, jwtSecret: JWT, ...overrides };
}

const allSecret = (name: ConfigKey): boolean => (SECRET_KEYS as readonly string[]).includes(name);

/** What the CLI prints for these problems: the heading, then one line per problem. */
const cliMessage = (problems: string[]): string => ["Invalid stack configuration:", ...problems.map((problem) => `  - ${problem}`)].join("\n");

/**
 * The problems reported for a configuration. Fails the test when it is accepted, or when the
 * error is not a RunError whose message lists exactly these problems.
 */
function problems(values: Partial<Record<ConfigKey, string>>, isSecret: (name: ConfigKey) => boolean = allSecret): string[] {
    try {
        parseStackConfig(values, isSecret);
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            throw error;
        }
        expect(pulumi.RunError.isInstance(error)).toBe(true);
        expect(error.message).toBe(cliMessage(error.problems));
        return error.problems;
    }
    throw new Error("configuration was accepted");
}

describe("stack configuration errors", () => {
    test("prod without a Neon URL names todo:databaseUrl and how to set it as a secret", () => {
        expect(problems(prod({ databaseUrl: "" }))).toEqual([
            "todo:databaseUrl: required when todo:databaseMode is external; set the Neon URL with: pulumi config set --secret todo:databaseUrl 'postgresql://user:password@host/db?sslmode=require'",
        ]);
    });

    test("min replicas above max", () => {
        expect(problems(prod({ backendMinReplicas: "4", backendMaxReplicas: "3" }))).toEqual(["todo:backendMinReplicas: 4 is above todo:backendMaxReplicas 3; accepted: min <= max"]);
    });

    test("a CPU quantity that does not parse", () => {
        expect(problems(prod({ frontendCpuLimit: "half a core" }))).toEqual([
            "todo:frontendCpuLimit: is not a CPU quantity; accepted: cores or millicores such as 0.5, 1, 250m",
        ]);
    });

    test("a memory quantity that does not parse", () => {
        expect(problems(prod({ backendMemoryLimit: "1 gigabyte" }))).toEqual([
            "todo:backendMemoryLimit: is not a memory quantity; accepted: bytes with a suffix such as 256Mi, 1Gi, 512M",
        ]);
    });

    test("a request above its limit", () => {
        expect(problems(prod({ backendCpuRequest: "2", backendCpuLimit: "1000m" }))).toEqual(["todo:backendCpuRequest: 2 is above todo:backendCpuLimit 1000m; accepted: request <= limit"]);
    });

    test("an unknown deploy method", () => {
        expect(problems(prod({ deployMethod: "kustomize" }))).toEqual(['todo:deployMethod: got "kustomize"; accepted: native, chart']);
    });

    test("an unknown environment", () => {
        expect(problems(prod({ environment: "staging" }))).toEqual(['todo:environment: got "staging"; accepted: dev, prod']);
    });

    test("a registry without credentials when push is on", () => {
        expect(problems(prod({ registryPassword: "" }))).toEqual([
            "todo:registryUsername/todo:registryPassword: required when todo:pushImages is true; set them with pulumi config set todo:registryUsername <user> and pulumi config set --secret todo:registryPassword <token>",
        ]);
    });

    test("push without a repository", () => {
        expect(problems(prod({ imageRepository: "" }))).toEqual([
            "todo:imageRepository: required when todo:pushImages is true; accepted: docker.io/<user>, ghcr.io/<owner> or <registry>/<path>",
        ]);
    });

    test("a repository with upper-case letters", () => {
        expect(problems(prod({ imageRepository: "docker.io/Alice" }))[0]).toMatch(/^todo:imageRepository: is not a repository prefix; accepted: /);
    });

    test("a credential stored in plain text", () => {
        expect(problems(prod(), (name) => name !== "databaseUrl")).toEqual([
            "todo:databaseUrl: is stored in plain text; set it with: pulumi config set --secret todo:databaseUrl <value>",
        ]);
    });

    test("prod without a JWT secret", () => {
        expect(problems(prod({ jwtSecret: "" }))).toEqual([
            'todo:jwtSecret: required in prod; set it with: pulumi config set --secret todo:jwtSecret "$(openssl rand -base64 48)"',
        ]);
    });

    test("a JWT secret too short to resist guessing", () => {
        expect(problems(prod({ jwtSecret: "short" }))).toEqual(["todo:jwtSecret: is 5 characters long; accepted: at least 32 characters"]);
    });

    test("an unencrypted database connection", () => {
        expect(problems(prod({ databaseUrl: `${NEON_URL}?sslmode=disable` }))).toEqual([
            "todo:databaseUrl: has sslmode=disable; accepted: require, verify-ca, verify-full (or set todo:databaseRequireTls false)",
        ]);
    });

    test("a database URL of another scheme", () => {
        expect(problems(prod({ databaseUrl: "mysql://u:p@db.example.com/todo" }))).toEqual([
            "todo:databaseUrl: has scheme mysql or no host; accepted: postgresql://user:password@host/db",
        ]);
    });

    test("an egress CIDR that is not one", () => {
        expect(problems(prod({ databaseEgressCidrs: '["10.0.0.0/33"]' }))).toEqual([
            'todo:databaseEgressCidrs: "10.0.0.0/33" is not a CIDR; accepted: address/prefix such as 0.0.0.0/0 or 10.0.0.0/8',
        ]);
    });

    test("a node port outside the NodePort range", () => {
        expect(problems({ frontendNodePort: "8080" })).toEqual(['todo:frontendNodePort: got "8080"; accepted: an integer from 30000 to 32767']);
    });

    test("a password hashing pool out of range", () => {
        expect(problems({ passwordHashConcurrency: "0" })).toEqual([expect.stringContaining("todo:passwordHashConcurrency")]);
        expect(problems({ passwordHashConcurrency: "17" })).toEqual([expect.stringContaining("todo:passwordHashConcurrency")]);
    });

    test("a namespace that is not a DNS label", () => {
        expect(problems({ namespace: "Todo_App" })).toEqual([
            "todo:namespace: is not a namespace name; accepted: lower-case letters, digits and '-', at most 63 characters",
        ]);
    });

    test("a boolean that is not true or false", () => {
        expect(problems({ pushImages: "yes" })).toEqual(['todo:pushImages: got "yes"; accepted: true, false']);
    });

    test("a pull secret without registry credentials", () => {
        expect(problems({ imagePullSecret: "true" })).toEqual([
            "todo:imagePullSecret: needs todo:pushImages true and registry credentials (todo:registryUsername, todo:registryPassword)",
        ]);
    });

    test("an ingress TLS secret without a host", () => {
        expect(problems({ ingressTlsSecret: "todo-tls" })).toEqual(["todo:ingressTlsSecret: needs todo:ingressHost; accepted: set both, or neither"]);
    });

    test("monitoring that is not a boolean, and a Prometheus that cannot be named", () => {
        expect(problems({ monitoring: "on" })).toEqual(['todo:monitoring: got "on"; accepted: true, false']);
        expect(problems({ monitoring: "true", prometheusNamespace: "Monitoring" })).toEqual([
            "todo:prometheusNamespace: is not a namespace name; accepted: lower-case letters, digits and '-', at most 63 characters",
        ]);
        for (const selector of ["", "prometheus", "app=my prometheus", "app=prometheus,", "app in (prometheus)", "app!=prometheus"]) {
            expect([selector, problems({ prometheusPodSelector: selector })]).toEqual([
                selector,
                ["todo:prometheusPodSelector: is not a pod label selector; accepted: name=value pairs separated by commas, e.g. app.kubernetes.io/name=prometheus"],
            ]);
        }
    });

    test("every problem is reported at once", () => {
        expect(problems(prod({ deployMethod: "helm", frontendNodePort: "1" }))).toHaveLength(2);
        expect(problems(prod({ jwtSecret: "", databaseUrl: "", registryPassword: "" }))).toHaveLength(3);
    });

    test("a prod stack with nothing set fails with every problem in one RunError", async () => {
        const failure: unknown = await runProgram("prod").then(
            () => undefined,
            (error: unknown) => error,
        );
        // The program loads its own copy of the SDK: isInstance works across copies, instanceof does not.
        expect(pulumi.RunError.isInstance(failure)).toBe(true);
        expect((failure as Error).message).toBe(
            cliMessage([
                "todo:imageRepository: required when todo:pushImages is true; accepted: docker.io/<user>, ghcr.io/<owner> or <registry>/<path>",
                "todo:registryUsername/todo:registryPassword: required when todo:pushImages is true; set them with pulumi config set todo:registryUsername <user> and pulumi config set --secret todo:registryPassword <token>",
                "todo:databaseUrl: required when todo:databaseMode is external; set the Neon URL with: pulumi config set --secret todo:databaseUrl 'postgresql://user:password@host/db?sslmode=require'",
                'todo:jwtSecret: required in prod; set it with: pulumi config set --secret todo:jwtSecret "$(openssl rand -base64 48)"',
            ]),
        );
    });
});

test("the README's example is what the CLI prints for its configuration", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    // The CLI prints the message under `error: `, its next lines indented by four more spaces.
    const example = /^ {4}error: (Invalid stack configuration:\n(?: {6}- .*\n)+)/m.exec(readme)?.[1];
    const printed = example?.trimEnd().replace(/^ {4}/gm, "");
    const plainTextUrl = (name: ConfigKey): boolean => name !== "databaseUrl";
    expect(printed).toBe(cliMessage(problems(prod({ backendMinReplicas: "9", databaseUrl: `${NEON_URL}?sslmode=disable` }), plainTextUrl)));
});

describe("stack configuration defaults", () => {
    test("Pulumi.yaml declares every key the program reads, with a description and the program's default", () => {
        const declarations = projectConfigDeclarations();
        const defaults = rawConfigSchema.parse({});
        expect(Object.keys(declarations).sort()).toEqual(CONFIG_KEYS.map((key) => `${PROJECT}:${key}`).sort());
        for (const key of CONFIG_KEYS) {
            const declaration = declarations[`${PROJECT}:${key}`];
            expect(declaration?.description).toBeTruthy();
            const parsedDefault = rawConfigSchema.shape[key].parse(
                typeof declaration?.default === "string" ? declaration.default : JSON.stringify(declaration?.default),
            );
            expect([key, parsedDefault]).toEqual([key, defaults[key]]);
        }
    });

    test("dev needs nothing set: in-cluster Postgres, local images, NodePort 30000", () => {
        const config = parseStackConfig(
            Object.fromEntries(Object.entries(stackConfig("dev")).map(([key, value]) => [key.slice(PROJECT.length + 1), value])),
            allSecret,
        );
        expect(config.environment).toBe("dev");
        expect(config.database.mode).toBe("in-cluster");
        expect(config.images.push).toBe(false);
        expect(config.jwtSecret).toBeUndefined();
        expect(config.frontendService).toEqual({ type: "NodePort", nodePort: 30000 });
    });

    test("monitoring is off unless set; on, it names kube-prometheus-stack's Prometheus unless told another", () => {
        expect(parseStackConfig({}, allSecret).monitoring).toBeUndefined();
        expect(parseStackConfig({ monitoring: "true" }, allSecret).monitoring).toEqual({
            prometheus: { namespace: "monitoring", podLabels: { "app.kubernetes.io/name": "prometheus" } },
        });
        expect(parseStackConfig({ monitoring: "true", prometheusNamespace: "observability", prometheusPodSelector: "app=prometheus, prometheus=k8s" }, allSecret).monitoring).toEqual({
            prometheus: { namespace: "observability", podLabels: { app: "prometheus", prometheus: "k8s" } },
        });
    });

    test("a Docker Hub user alone means docker.io/<user>", () => {
        expect(parseStackConfig(prod({ imageRepository: "alice" }), allSecret).images.repositoryPrefix).toBe("docker.io/alice");
    });

    test("a Neon URL without sslmode gets sslmode=require; one with channel_binding keeps it", () => {
        expect(normaliseDatabaseUrl(NEON_URL, true)).toEqual({ url: `${NEON_URL}?sslmode=require` });
        expect(normaliseDatabaseUrl(`${NEON_URL}?sslmode=require&channel_binding=require`, true)).toEqual({ url: `${NEON_URL}?sslmode=require&channel_binding=require` });
        expect(normaliseDatabaseUrl(`${NEON_URL}?sslmode=disable`, false)).toEqual({ url: `${NEON_URL}?sslmode=disable` });
    });
});

describe("resource quantities", () => {
    test.each([
        ["250m", 0.25],
        ["1", 1],
        ["1.5", 1.5],
        ["512Mi", 512 * 2 ** 20],
        ["1Gi", 2 ** 30],
        ["1G", 1e9],
        ["1e3", 1000],
    ])("%s parses to %d", (text, value) => {
        expect(parseQuantity(text)).toBeCloseTo(value);
    });

    test.each(["", "1 Gi", "one", "1gi", "-1", "1.2.3"])("%j does not parse", (text) => {
        expect(parseQuantity(text)).toBeUndefined();
    });
});

test("the checked-in stack files hold no secrets salt and no encrypted value", () => {
    // A salt made by one machine's passphrase makes `pulumi stack init` fail on every other.
    for (const stack of ["dev", "prod"]) {
        const text = readFileSync(path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8");
        expect([stack, /^encryptionsalt:|secure:/m.test(text)]).toEqual([stack, false]);
    }
});
