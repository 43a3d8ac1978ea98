"use client";

import { useRouter } from "next/navigation";
import { useActionState, useEffect, useId, useRef, useState, type KeyboardEvent } from "react";

import type { Todo } from "@/lib/backend-client";
import {
  todoActionState,
  type CompletionAnswer,
  todoFormState,
  type SaveTodoAction,
  type TodoAction,
  type TodoFormState,
} from "@/lib/form-state";
import { TITLE_MAX } from "@/lib/validation";

import { deleteButtonId, useDeleteWithUndo } from "./delete-with-undo";
import { CheckIcon } from "./icons";
import { DescriptionField, FieldError, FormAlert, IdempotencyKeyField } from "./form-fields";
import { SubmitButton } from "./submit-button";

export type TodoItemActions = {
  edit: SaveTodoAction;
  setCompleted: TodoAction;
};

/**
 * The keys of the row's first edit, completion change and deletion, minted by the page
 * (src/lib/idempotency.ts). The edit and completion forms then take the key of their next action
 * from the answer of the last one; a deleted todo has no next action.
 */
export type TodoItemKeys = { edit: string; setCompleted: string; delete: string };

type TodoItemProps = { todo: Todo; actions: TodoItemActions; keys: TodoItemKeys };

export function TodoItem({ todo, actions, keys }: TodoItemProps) {
  const [editing, setEditing] = useState(false);
  // The editor is mounted anew each time it opens: the row keeps the key of the next edit.
  const [editKey, setEditKey] = useState(keys.edit);
  const [toggleState, toggle, toggling] = useActionState(actions.setCompleted, todoActionState(keys.setCompleted));
  const deletion = useDeleteWithUndo();
  const editButton = useRef<HTMLButtonElement>(null);
  const returnFocus = useRef(false);
  const router = useRouter();

  // A page fetched while the change was on its way can reach the browser after the change's
  // answer. A render older than the completion this row's last change confirmed keeps the
  // confirmed state, and asks once for a fresh page (counts and filters included).
  const { answered } = toggleState;
  const renderIsOlder = answered !== null && Date.parse(todo.updatedAt) < Date.parse(answered.updatedAt);
  const settled = renderIsOlder ? answered.completed : todo.completed;
  const refreshedFor = useRef<CompletionAnswer | null>(null);
  useEffect(() => {
    if (renderIsOlder && refreshedFor.current !== answered) {
      refreshedFor.current = answered;
      router.refresh();
    }
  }, [renderIsOlder, answered, router]);

  useEffect(() => {
    // After closing the editor, put keyboard focus back where it was.
    if (!editing && returnFocus.current) {
      returnFocus.current = false;
      editButton.current?.focus();
    }
  }, [editing]);

  const closeEditor = () => {
    returnFocus.current = true;
    setEditing(false);
  };

  // A deleted todo leaves the list at once; it comes back if the deletion is undone.
  if (deletion.isRemoved(todo)) return null;

  // While the change is on its way, show the state it will have.
  const completed = toggling ? !settled : settled;

  return (
    <li className={completed ? "todo-item is-done" : "todo-item"} aria-busy={toggling}>
      <form action={toggle}>
        <IdempotencyKeyField value={toggleState.idempotencyKey} />
        <input type="hidden" name="id" value={todo.id} />
        <input type="hidden" name="completed" value={String(!settled)} />
        <button
          type="submit"
          className="todo-check"
          aria-pressed={completed}
          aria-label={`Done: ${todo.title}`}
          disabled={toggling}
        >
          <span className="todo-check-circle">
            <CheckIcon size={14} />
          </span>
        </button>
      </form>
      {editing ? (
        <EditTodoForm
          todo={todo}
          action={actions.edit}
          idempotencyKey={editKey}
          onNextKey={setEditKey}
          onClose={closeEditor}
        />
      ) : (
        <>
          <div className="todo-body">
            <p className="todo-title">{todo.title}</p>
            {todo.description !== null && <p className="todo-description">{todo.description}</p>}
          </div>
          <div className="todo-actions">
            <button
              ref={editButton}
              type="button"
              className="button button-quiet"
              onClick={() => {
                setEditing(true);
              }}
              aria-label={`Edit ${todo.title}`}
            >
              Edit
            </button>
            <button
              id={deleteButtonId(todo)}
              type="button"
              className="button button-quiet button-danger"
              onClick={(event) => {
                // A click made with Enter or Space has no pointer detail.
                deletion.remove(todo, { fromKeyboard: event.detail === 0, idempotencyKey: keys.delete });
              }}
              aria-label={`Delete ${todo.title}`}
            >
              Delete
            </button>
          </div>
        </>
      )}
      {toggleState.error !== null && (
        <p className="todo-error" role="alert">
          {toggleState.error}
        </p>
      )}
    </li>
  );
}

type EditTodoFormProps = {
  todo: Todo;
  action: SaveTodoAction;
  idempotencyKey: string;
  /** Hears the key of the next edit from each answer, for when the editor opens again. */
  onNextKey: (key: string) => void;
  onClose: () => void;
};

function EditTodoForm({ todo, action, idempotencyKey, onNextKey, onClose }: EditTodoFormProps) {
  const id = useId();
  const [state, formAction] = useActionState(
    async (previous: TodoFormState, form: FormData) => {
      const next = await action(previous, form);
      onNextKey(next.idempotencyKey);
      if (next.status === "saved") onClose();
      return next;
    },
    todoFormState({ title: todo.title, description: todo.description ?? "" }, idempotencyKey),
  );
  const titleError = state.fieldErrors.title;
  const descriptionError = state.fieldErrors.description;

  const cancelOnEscape = (event: KeyboardEvent<HTMLFormElement>) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    }
  };

  return (
    <form action={formAction} className="todo-edit" onKeyDown={cancelOnEscape} noValidate>
      <IdempotencyKeyField value={state.idempotencyKey} />
      <input type="hidden" name="id" value={todo.id} />
      <div className="field">
        <label className="field-label" htmlFor={`${id}-title`}>
          Title
        </label>
        <input
          id={`${id}-title`}
          className="input"
          name="title"
          autoFocus
          maxLength={TITLE_MAX}
          defaultValue={state.values.title}
          aria-invalid={titleError !== undefined}
          aria-describedby={titleError === undefined ? undefined : `${id}-title-error`}
        />
        <FieldError id={`${id}-title-error`} message={titleError} />
      </div>
      <div className="field">
        <label className="field-label" htmlFor={`${id}-description`}>
          Description
        </label>
        <DescriptionField id={id} defaultValue={state.values.description} error={descriptionError} />
      </div>
      <FormAlert message={state.formError} />
      <div className="todo-edit-actions">
        <SubmitButton pendingLabel="Saving…">Save</SubmitButton>
        <button type="button" className="button button-secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
