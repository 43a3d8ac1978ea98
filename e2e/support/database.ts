// SQL against the app's database, run by psql inside the database's own pod (the
// NetworkPolicies let nothing else in). Values travel as psql variables, never spliced in.
import { POSTGRES_DB, POSTGRES_NAME, POSTGRES_USER } from "../../components/database";
import { kubectl } from "./kube";

export interface Database {
    /** Runs SQL (psql variables :'name' for the values) and returns its unaligned, tuples-only output. */
    query(sql: string, variables?: Record<string, string>): Promise<string>;
}

export function postgresIn(namespace: string, workload: string, user: string, database: string): Database {
    return {
        query: async (sql, variables = {}) => {
            const flags = Object.entries(variables).flatMap(([name, value]) => ["-v", `${name}=${value}`]);
            const args = ["-n", namespace, "exec", "-i", workload, "--", "psql", "-U", user, "-d", database, "-At", "-v", "ON_ERROR_STOP=1", ...flags, "-f", "-"];
            return (await kubectl(args, sql)).trim();
        },
    };
}

/** The in-cluster database of the dev stack and of the chart (same names on both paths). */
export const inClusterDatabase = (namespace: string): Database => postgresIn(namespace, `statefulset/${POSTGRES_NAME}`, POSTGRES_USER, POSTGRES_DB);
