import type { ComponentChildren } from "preact";

/** One column of a DataTable: its heading and how to draw a row's cell. */
export interface Column<T> {
  heading: string;
  cell: (row: T) => ComponentChildren;
}

/** A table that scrolls sideways inside itself on narrow screens. The scroll region is focusable
 * and labelled so keyboard users can scroll it (axe: scrollable-region-focusable). */
export function DataTable<T>(props: {
  label: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  rowAttrs?: (row: T) => Record<string, string>;
  caption?: string;
}) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be focusable to scroll by keyboard
    <section class="scroll" aria-label={props.label} tabIndex={0}>
      <table>
        {props.caption ? <caption>{props.caption}</caption> : null}
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c.heading}>
                {c.heading}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={props.rowKey(row)} {...(props.rowAttrs?.(row) ?? {})}>
              {props.columns.map((c) => (
                <td key={c.heading}>{c.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
