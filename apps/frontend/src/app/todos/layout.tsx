import type { ReactNode } from "react";

import { deleteTodo } from "@/app/actions/todos";
import { DeleteWithUndoProvider } from "@/components/delete-with-undo";

// A layout, not the page: it stays mounted while the filter or page changes, so a deletion
// waiting for its undo window survives moving around the list.
export default function TodosLayout({ children }: { children: ReactNode }) {
  return (
    <DeleteWithUndoProvider deleteTodo={deleteTodo} focusAfterDismissId="list-title">
      {children}
    </DeleteWithUndoProvider>
  );
}
