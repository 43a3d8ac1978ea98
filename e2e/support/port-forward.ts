// `kubectl port-forward` to a Service on 127.0.0.1, for stacks whose frontend is ClusterIP.
import { type ChildProcess, spawn } from "node:child_process";

import { eventually } from "./shell";

export class PortForward {
    private constructor(private readonly child: ChildProcess) {}

    static async open(namespace: string, service: string, localPort: number, servicePort: string): Promise<PortForward> {
        const child = spawn("kubectl", ["-n", namespace, "port-forward", "--address", "127.0.0.1", `service/${service}`, `${localPort}:${servicePort}`], { stdio: "ignore" });
        const forward = new PortForward(child);
        try {
            await eventually(30, `port-forward to ${service} answering on 127.0.0.1:${localPort}`, async () => {
                const response = await fetch(`http://127.0.0.1:${localPort}/api/health`, { signal: AbortSignal.timeout(5000) });
                return response.ok ? true : undefined;
            });
        } catch (error) {
            forward.close();
            throw error;
        }
        return forward;
    }

    close(): void {
        this.child.kill();
    }
}
