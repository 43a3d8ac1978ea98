// A random secret made once, on create, and kept in the stack's state, encrypted: the dev
// stack's Postgres password and JWT key, which nobody has to choose. It is a dynamic provider,
// run by the Node.js runtime itself, so it needs no provider plugin: @pulumi/random's plugin is
// not buildable from the Go module proxy, and dev must deploy on machines that reach only that.
import { randomBytes, randomUUID } from "node:crypto";

import * as pulumi from "@pulumi/pulumi";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** The type token Pulumi records it under. */
export const GENERATED_SECRET_TYPE = "pulumi-nodejs:dynamic/todo:GeneratedSecret";
export const MIN_LENGTH = 16;
export const MAX_LENGTH = 256;

/**
 * `length` characters drawn uniformly from [A-Za-z0-9] (safe in URLs and env values). Bytes
 * at or above the largest multiple of the alphabet's size are dropped, so no character is
 * likelier than another.
 */
export function randomAlphanumeric(length: number): string {
    const limit = 256 - (256 % ALPHABET.length);
    let result = "";
    while (result.length < length) {
        for (const byte of randomBytes(length * 2)) {
            if (byte < limit && result.length < length) {
                result += ALPHABET[byte % ALPHABET.length] ?? "";
            }
        }
    }
    return result;
}

interface GeneratedSecretInputs {
    length: number;
}

interface GeneratedSecretOutputs {
    length: number;
    value: string;
}

const provider: pulumi.dynamic.ResourceProvider<GeneratedSecretInputs, GeneratedSecretOutputs> = {
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is asynchronous
    async create(inputs) {
        return { id: randomUUID(), outs: { length: inputs.length, value: randomAlphanumeric(inputs.length) } };
    },
    // A new value only when asked for another length: every other run keeps the stored one.
    // eslint-disable-next-line @typescript-eslint/require-await -- the interface is asynchronous
    async diff(_id, olds, news) {
        const changed = olds.length !== news.length;
        return { changes: changed, replaces: changed ? ["length"] : [], deleteBeforeReplace: false };
    },
};

export interface GeneratedSecretArgs {
    /** Characters of [A-Za-z0-9]; 16 to 256. */
    length: number;
}

/** A random alphanumeric secret, generated on create and stable across `pulumi up` runs. */
export class GeneratedSecret extends pulumi.dynamic.Resource {
    /** The generated value, marked secret. */
    declare readonly value: pulumi.Output<string>;

    constructor(name: string, args: GeneratedSecretArgs, opts?: pulumi.CustomResourceOptions) {
        if (!Number.isInteger(args.length) || args.length < MIN_LENGTH || args.length > MAX_LENGTH) {
            throw new pulumi.RunError(`GeneratedSecret ${name}: length ${args.length}; accepted: an integer from ${MIN_LENGTH} to ${MAX_LENGTH}`);
        }
        super(provider, name, { length: args.length, value: undefined }, { ...opts, additionalSecretOutputs: ["value"] }, "todo", "GeneratedSecret");
    }
}
