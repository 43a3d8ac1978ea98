// The command line of `npm run up:dev` / `down:dev`: what reaches Pulumi, what the main job keeps.
import { configArguments, parseMainJobArgs, UsageError } from "../launcher/args";

describe("npm run up:dev's arguments", () => {
    test("--context is the main job's; the rest goes to pulumi", () => {
        expect(parseMainJobArgs(["up", "--context", "minikube", "--yes", "--skip-preview"], "todo")).toEqual({
            action: "up",
            context: "minikube",
            pulumiArgs: ["--yes", "--skip-preview"],
            config: { settings: {}, rest: ["--yes", "--skip-preview"] },
        });
        expect(parseMainJobArgs(["down", "--context=kind-dev"], "todo")).toEqual({ action: "down", context: "kind-dev", pulumiArgs: [], config: { settings: {}, rest: [] } });
    });

    test("an unknown action or a --context without a name is refused with what to write", () => {
        expect(() => parseMainJobArgs(["deploy"], "todo")).toThrow(new UsageError("unknown action 'deploy'; accepted: up, down"));
        expect(() => parseMainJobArgs(["up", "--context"], "todo")).toThrow("--context needs the name of a kube context");
    });

    test("--config settings are split from pulumi's other arguments, keys without a namespace in the project's", () => {
        expect(configArguments(["--yes", "--config", "todo:pythonImage=127.0.0.1:5000/python:3.12@sha256:ab", "-c", "backendMinReplicas=2", "--config=todo:namespace=todo-a=b", "--skip-preview"], "todo")).toEqual({
            settings: { "todo:pythonImage": "127.0.0.1:5000/python:3.12@sha256:ab", "todo:backendMinReplicas": "2", "todo:namespace": "todo-a=b" },
            rest: ["--yes", "--skip-preview"],
        });
        expect(configArguments(["--yes"], "todo")).toEqual({ settings: {}, rest: ["--yes"] });
    });

    test("the command line keeps its --config settings for the project's own cluster, and pulumi's arguments as given", () => {
        expect(parseMainJobArgs(["up", "--yes", "-c", "backendMinReplicas=2"], "todo")).toEqual({
            action: "up",
            context: undefined,
            pulumiArgs: ["--yes", "-c", "backendMinReplicas=2"],
            config: { settings: { "todo:backendMinReplicas": "2" }, rest: ["--yes"] },
        });
        expect(() => parseMainJobArgs(["up", "--config", "todo:pythonImage"], "todo")).toThrow(UsageError);
    });

    test("a --config that is not KEY=VALUE is refused with an example", () => {
        expect(() => configArguments(["--config", "todo:pythonImage"], "todo")).toThrow("--config todo:pythonImage: accepted: KEY=VALUE, e.g. --config todo:backendMinReplicas=2");
        expect(() => configArguments(["-c"], "todo")).toThrow("-c needs KEY=VALUE, e.g. -c todo:backendMinReplicas=2");
        expect(() => configArguments(["--config", "=2"], "todo")).toThrow("accepted: KEY=VALUE");
    });
});
