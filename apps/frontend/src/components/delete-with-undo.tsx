"use client";

import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type FocusEvent,
  type KeyboardEvent,
  type ReactNode,
} from "react";

import type { Todo } from "@/lib/backend-client";
import { todoActionState, type TodoAction } from "@/lib/form-state";
import { IDEMPOTENCY_KEY_FIELD } from "@/lib/idempotency";

/** How long a deleted todo can be brought back, while the notice is not hovered or focused. */
export const UNDO_WINDOW_MS = 6000;

/** The id of a todo's Delete button, where focus goes back when the todo is brought back. */
export const deleteButtonId = (todo: Pick<Todo, "id">): string => `delete-todo-${todo.id}`;

/** How a deletion was asked for: from the keyboard or not, and the key the row holds for it. */
type Removal = { fromKeyboard: boolean; idempotencyKey: string };

type DeleteWithUndo = {
  /** Hides the todo at once; it is deleted for good when the undo window closes. */
  remove(todo: Todo, removal: Removal): void;
  isRemoved(todo: Pick<Todo, "id">): boolean;
  /** Deletes the todo waiting for its undo window now (before logging out, say). */
  commitPending(): Promise<void>;
};

const DeleteWithUndoContext = createContext<DeleteWithUndo | null>(null);

export function useDeleteWithUndo(): DeleteWithUndo {
  const context = useContext(DeleteWithUndoContext);
  if (context === null) throw new Error("useDeleteWithUndo needs a <DeleteWithUndoProvider> above it");
  return context;
}

type Pending = { todo: Todo } & Removal;
type Failure = { title: string; message: string };

type ProviderProps = {
  deleteTodo: TodoAction;
  /** Where keyboard focus goes when a notice it was on is dismissed. */
  focusAfterDismissId: string;
  children: ReactNode;
};

/**
 * Deleting is deferred, not reversed: nothing is sent until the undo window closes, so Undo
 * brings the todo back exactly as it was (same place, same state). Closing the tab inside
 * the window therefore keeps the todo. The deletion is sent with the key the row was rendered
 * with, in the form's `idempotencyKey` field; when it fails, the next deletion of that todo
 * takes the key the answer names (the same one while the outcome is unknown).
 */
export function DeleteWithUndoProvider({ deleteTodo, focusAfterDismissId, children }: ProviderProps) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [failure, setFailure] = useState<Failure | null>(null);
  const [paused, setPaused] = useState(false);
  // The window's timer and a logout can both commit the same todo; it is sent once.
  const sent = useRef(new Set<number>());
  // The key of a todo's next deletion, named by the answer of its last, failed one.
  const nextKeys = useRef(new Map<number, string>());
  const focusTargetId = useRef<string | null>(null);

  const reveal = useCallback((todo: Todo) => {
    setHidden((ids) => new Set([...ids].filter((id) => id !== todo.id)));
  }, []);

  const commitPending = useCallback(async () => {
    if (pending === null || sent.current.has(pending.todo.id)) return;
    const { todo, idempotencyKey } = pending;
    sent.current.add(todo.id);
    setPending(null);
    const form = new FormData();
    form.set("id", String(todo.id));
    form.set(IDEMPOTENCY_KEY_FIELD, idempotencyKey);
    const result = await deleteTodo(todoActionState(idempotencyKey), form);
    if (result.error !== null) {
      nextKeys.current.set(todo.id, result.idempotencyKey);
      sent.current.delete(todo.id);
      reveal(todo);
      setFailure({ title: todo.title, message: result.error });
    }
  }, [pending, deleteTodo, reveal]);

  const remove = useCallback(
    (todo: Todo, { fromKeyboard, idempotencyKey }: Removal) => {
      // One undo at a time: a todo already waiting is deleted now.
      void commitPending();
      setFailure(null);
      setPaused(false);
      setHidden((ids) => new Set(ids).add(todo.id));
      setPending({ todo, fromKeyboard, idempotencyKey: nextKeys.current.get(todo.id) ?? idempotencyKey });
    },
    [commitPending],
  );

  const undo = () => {
    if (pending === null) return;
    const { todo, fromKeyboard } = pending;
    setPending(null);
    reveal(todo);
    if (fromKeyboard) focusTargetId.current = deleteButtonId(todo);
  };

  const dismiss = () => {
    if (pending?.fromKeyboard === true) focusTargetId.current = focusAfterDismissId;
    void commitPending();
    setFailure(null);
  };

  useEffect(() => {
    if (pending === null || paused) return;
    const timer = setTimeout(() => void commitPending(), UNDO_WINDOW_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [pending, paused, commitPending]);

  // After the render that brought a todo back (or closed the notice), focus lands where it was.
  useEffect(() => {
    if (focusTargetId.current === null) return;
    document.getElementById(focusTargetId.current)?.focus();
    focusTargetId.current = null;
  });

  const value = useMemo<DeleteWithUndo>(
    () => ({ remove, isRemoved: (todo) => hidden.has(todo.id), commitPending }),
    [remove, hidden, commitPending],
  );

  return (
    <DeleteWithUndoContext.Provider value={value}>
      {children}
      <UndoNotice
        pending={pending}
        failure={failure}
        onUndo={undo}
        onDismiss={dismiss}
        onPause={setPaused}
      />
    </DeleteWithUndoContext.Provider>
  );
}

type UndoNoticeProps = {
  pending: Pending | null;
  failure: Failure | null;
  onUndo: () => void;
  onDismiss: () => void;
  onPause: (paused: boolean) => void;
};

/**
 * The live regions are always in the page, so screen readers announce what appears in them.
 * The window pauses while the pointer or focus is on the notice.
 */
function UndoNotice({ pending, failure, onUndo, onDismiss, onPause }: UndoNoticeProps) {
  const undoButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    // A keyboard user who just deleted is one key press away from undoing it.
    if (pending?.fromKeyboard === true) undoButton.current?.focus();
  }, [pending]);

  const dismissOnEscape = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onDismiss();
    }
  };
  const resumeWhenFocusLeaves = (event: FocusEvent<HTMLDivElement>) => {
    if (!event.currentTarget.contains(event.relatedTarget)) onPause(false);
  };

  return (
    <div
      className="toast-region"
      onKeyDown={dismissOnEscape}
      onMouseEnter={() => {
        onPause(true);
      }}
      onMouseLeave={() => {
        onPause(false);
      }}
      onFocus={() => {
        onPause(true);
      }}
      onBlur={resumeWhenFocusLeaves}
    >
      <div role="status">
        {pending !== null && (
          <div className="toast">
            <p className="toast-text">
              Deleted “{pending.todo.title}”.
            </p>
            <button ref={undoButton} type="button" className="button toast-action" onClick={onUndo}>
              Undo
            </button>
          </div>
        )}
      </div>
      <div role="alert">
        {failure !== null && (
          <div className="toast toast-failure">
            <p className="toast-text">
              “{failure.title}” was not deleted. {failure.message}
            </p>
            <button type="button" className="button toast-action" onClick={onDismiss}>
              Dismiss
            </button>
          </div>
        )}
      </div>
    </div>
  );
}
