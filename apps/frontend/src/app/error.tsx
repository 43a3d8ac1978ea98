"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";

import { CloudOffIcon } from "@/components/icons";

/** Last line of defence: an unexpected failure shows a calm message, never a stack trace. */
export default function AppError({ reset }: { error: Error & { digest?: string }; reset: () => void }) {
  const router = useRouter();
  const [retrying, startRetry] = useTransition();
  return (
    <main className="page" id="main">
      <section className="card list-card">
        <div className="state" role="alert">
          <span className="state-icon warning">
            <CloudOffIcon size={24} />
          </span>
          <h1 className="state-title">Something went wrong</h1>
          <p className="state-text">The page could not be shown. Please try again in a moment.</p>
          <button
            type="button"
            className="button"
            disabled={retrying}
            onClick={() => {
              startRetry(() => {
                router.refresh();
                reset();
              });
            }}
          >
            {retrying ? "Trying again…" : "Try again"}
          </button>
        </div>
      </section>
    </main>
  );
}
