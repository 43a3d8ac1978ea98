import type { StatusFilter } from "@/lib/validation";

import { CheckIcon, ListIcon } from "./icons";

const COPY: Record<StatusFilter, { title: string; text: string }> = {
  all: { title: "No todos yet", text: "Add the first thing you want to get done above." },
  open: { title: "Nothing left to do", text: "Every todo is done. Enjoy the quiet." },
  done: { title: "Nothing finished yet", text: "Todos you complete will show up here." },
};

export function EmptyState({ filter }: { filter: StatusFilter }) {
  const copy = COPY[filter];
  return (
    <div className="state">
      <span className="state-icon">{filter === "open" ? <CheckIcon size={24} /> : <ListIcon size={24} />}</span>
      <h2 className="state-title">{copy.title}</h2>
      <p className="state-text">{copy.text}</p>
    </div>
  );
}
