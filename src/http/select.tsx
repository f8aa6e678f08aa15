/** One choice of a Select: the value sent and the text shown. */
export interface Choice {
  value: string;
  label: string;
}

/** A labelled drop-down that shows the current value as chosen. `blank` adds a first, empty choice
 * (for "any" or "none"); without it a value must be picked. Works without JavaScript. */
export function Select(props: {
  id: string;
  name?: string;
  label: string;
  value: string | null | undefined;
  choices: Choice[];
  blank?: string;
}) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name ?? props.id}>
        {props.blank !== undefined ? <option value="">{props.blank}</option> : null}
        {props.choices.map((c) => (
          <option value={c.value} selected={props.value === c.value} key={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </>
  );
}
