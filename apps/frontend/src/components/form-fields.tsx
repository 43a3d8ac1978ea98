import { IDEMPOTENCY_KEY_FIELD } from "@/lib/idempotency";
import { DESCRIPTION_MAX } from "@/lib/validation";

/** The key of the form's action, sent with it (src/lib/idempotency.ts); works without JavaScript. */
export function IdempotencyKeyField({ value }: { value: string }) {
  return <input type="hidden" name={IDEMPOTENCY_KEY_FIELD} value={value} />;
}

/** The description textarea of a todo form, with its error tied to it for screen readers. */
export function DescriptionField({
  id,
  defaultValue,
  error,
  placeholder,
}: {
  /** Prefix shared with the form's other fields (from useId). */
  id: string;
  defaultValue: string;
  error: string | undefined;
  placeholder?: string;
}) {
  const errorId = `${id}-description-error`;
  return (
    <>
      <textarea
        id={`${id}-description`}
        className="textarea"
        name="description"
        placeholder={placeholder}
        maxLength={DESCRIPTION_MAX}
        defaultValue={defaultValue}
        aria-invalid={error !== undefined}
        aria-describedby={error === undefined ? undefined : errorId}
      />
      <FieldError id={errorId} message={error} />
    </>
  );
}

/** A field's validation message, with the id its input names in aria-describedby; nothing when valid. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  return message === undefined ? null : (
    <p className="field-error" id={id}>
      {message}
    </p>
  );
}

/** A form-level problem (the service is down, the change was not saved), announced when it appears. */
export function FormAlert({ message }: { message: string | null }) {
  return message === null ? null : (
    <p className="form-alert" role="alert">
      {message}
    </p>
  );
}
