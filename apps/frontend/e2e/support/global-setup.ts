// Once per run: a throwaway PostgreSQL with the backend's schema migrated into it.

import { backendSettings, migrate } from "./backend";
import { startPostgres } from "./postgres";
import { LOG_DIR } from "./paths";

export default async function globalSetup(): Promise<() => Promise<void>> {
  const postgres = await startPostgres(LOG_DIR);
  try {
    const settings = backendSettings(postgres.url);
    migrate(settings);
    // Workers start after this function returns and inherit these variables.
    process.env.E2E_BACKEND_PYTHON = settings.python;
    process.env.E2E_DATABASE_URL = settings.databaseUrl;
    process.env.E2E_JWT_SECRET = settings.jwtSecret;
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  console.log(`postgres ${postgres.url} (logs in ${LOG_DIR})`);
  return () => postgres.stop();
}
