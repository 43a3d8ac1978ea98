// The pack's entry point: started by the Pulumi CLI for `pulumi preview --policy-pack policy`,
// it serves the policies to the engine (constructing a PolicyPack starts that server, so the
// tests import policies.ts instead).
import { PolicyPack } from "@pulumi/policy";

import { POLICY_PACK_NAME, policies } from "./policies";

new PolicyPack(POLICY_PACK_NAME, { policies });
