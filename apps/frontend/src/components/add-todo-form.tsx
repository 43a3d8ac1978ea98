"use client";

import { useActionState, useId, useState } from "react";

import { todoFormState, type SaveTodoAction, type TodoFormState } from "@/lib/form-state";
import { TITLE_MAX } from "@/lib/validation";

import { DescriptionField, FieldError, FormAlert, IdempotencyKeyField } from "./form-fields";
import { SubmitButton } from "./submit-button";

type AddTodoFormProps = {
  action: SaveTodoAction;
  /** The key of the first todo added, minted by the page; each answer names the next one. */
  idempotencyKey: string;
};

export function AddTodoForm({ action, idempotencyKey }: AddTodoFormProps) {
  const [showDescription, setShowDescription] = useState(false);
  const [state, formAction] = useActionState<TodoFormState, FormData>(
    async (previous, form) => {
      const next = await action(previous, form);
      // The next todo starts from a clean slate; an error keeps everything in view.
      setShowDescription(next.status !== "saved" && next.values.description !== "");
      return next;
    },
    todoFormState({ title: "", description: "" }, idempotencyKey),
  );
  const id = useId();
  const titleError = state.fieldErrors.title;
  const descriptionError = state.fieldErrors.description;

  return (
    <form action={formAction} className="add-form" noValidate>
      <IdempotencyKeyField value={state.idempotencyKey} />
      <label className="visually-hidden" htmlFor={`${id}-title`}>
        New todo
      </label>
      <div className="add-row">
        <input
          id={`${id}-title`}
          className="input"
          name="title"
          placeholder="What needs doing?"
          autoComplete="off"
          maxLength={TITLE_MAX}
          defaultValue={state.values.title}
          aria-invalid={titleError !== undefined}
          aria-describedby={titleError === undefined ? undefined : `${id}-title-error`}
        />
        <SubmitButton pendingLabel="Adding…">Add</SubmitButton>
      </div>
      <FieldError id={`${id}-title-error`} message={titleError} />
      <details
        className="add-details"
        open={showDescription || descriptionError !== undefined}
        onToggle={(event) => {
          setShowDescription(event.currentTarget.open);
        }}
      >
        <summary>Add a description</summary>
        <label className="visually-hidden" htmlFor={`${id}-description`}>
          Description
        </label>
        <DescriptionField
          id={id}
          defaultValue={state.values.description}
          error={descriptionError}
          placeholder="Notes, links, details (optional)"
        />
      </details>
      <FormAlert message={state.formError} />
    </form>
  );
}
