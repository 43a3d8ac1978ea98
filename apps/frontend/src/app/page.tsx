import { redirect } from "next/navigation";

import { readSessionToken } from "@/lib/server/session";

export default async function HomePage() {
  redirect((await readSessionToken()) === null ? "/login" : "/todos");
}
