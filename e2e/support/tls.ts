// Self-signed certificates for the TLS Secrets the suite makes (the Neon stand-in, the Ingress),
// the way cert-manager or an operator would provide them.
import { mkdirSync } from "node:fs";
import * as path from "node:path";

import { kubectl } from "./kube";
import { output } from "../../local-cluster/shell";

/** A TLS Secret NAME in NAMESPACE for HOST; its files (tls.crt, tls.key) stay in DIR for clients to trust. */
export async function selfSignedTlsSecret(namespace: string, name: string, host: string, dir: string): Promise<{ certificate: string }> {
    mkdirSync(dir, { recursive: true });
    const certificate = path.join(dir, "tls.crt");
    const key = path.join(dir, "tls.key");
    await output("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", `/CN=${host}`, "-addext", `subjectAltName=DNS:${host}`, "-keyout", key, "-out", certificate]);
    await kubectl(["-n", namespace, "create", "secret", "tls", name, "--cert", certificate, "--key", key]);
    return { certificate };
}
