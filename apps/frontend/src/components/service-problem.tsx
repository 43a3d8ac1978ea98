"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";

import { LOAD_PROBLEM_MESSAGES, type LoadProblem } from "@/lib/messages";

import { CloudOffIcon } from "./icons";

/** Shown instead of the list when the backend is down, slow, or confused. */
export function ServiceProblem({ problem }: { problem: LoadProblem }) {
  const router = useRouter();
  const [retrying, startRetry] = useTransition();

  return (
    <div className="state" role="alert">
      <span className="state-icon warning">
        <CloudOffIcon size={24} />
      </span>
      <h2 className="state-title">Your todos can&apos;t be loaded</h2>
      <p className="state-text">
        {LOAD_PROBLEM_MESSAGES[problem]} Your todos are safe; please try again in a moment.
      </p>
      <button
        type="button"
        className="button"
        onClick={() => {
          startRetry(() => {
            router.refresh();
          });
        }}
        disabled={retrying}
        aria-disabled={retrying}
      >
        {retrying ? "Trying again…" : "Try again"}
      </button>
    </div>
  );
}
