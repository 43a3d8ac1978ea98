// Kubernetes resource quantities ("250m", "1.5", "512Mi", "1G"), parsed so that config can be
// checked (does it parse, is the request within the limit) before anything reaches the API server.

const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
};

/** The value of a quantity in base units (cores for CPU, bytes for memory), or undefined if it does not parse. */
export function parseQuantity(quantity: string): number | undefined {
    const match = QUANTITY.exec(quantity.trim());
    if (!match) {
        return undefined;
    }
    const [, digits, suffix = ""] = match;
    const multiplier = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : (MULTIPLIERS[suffix] ?? 1);
    return Number(digits) * multiplier;
}
