// `kubectl port-forward` to a Service or a pod on 127.0.0.1 (a ClusterIP frontend, the test Prometheus).
import { type ChildProcess, spawn } from "node:child_process";

import { eventually } from "../../local-cluster/shell";

export class PortForward {
    private constructor(private readonly child: ChildProcess) {}

    /** Opens it to TARGET (`service/NAME` or `pod/NAME`) and waits until HEALTH_PATH answers through it. */
    static async open(namespace: string, target: string, localPort: number, remotePort: string, healthPath = "/api/health"): Promise<PortForward> {
        const child = spawn("kubectl", ["-n", namespace, "port-forward", "--address", "127.0.0.1", target, `${localPort}:${remotePort}`], { stdio: "ignore" });
        const forward = new PortForward(child);
        try {
            await eventually(30, `port-forward to ${target} answering on 127.0.0.1:${localPort}`, async () => {
                const response = await fetch(`http://127.0.0.1:${localPort}${healthPath}`, { signal: AbortSignal.timeout(5000) });
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
