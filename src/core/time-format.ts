/** Date and time formatting in the club's time zone, with formatters built once per process. Building an
 * Intl.DateTimeFormat (locale data, time zone rules) costs a hundred times more than using one: built per
 * call, it was most of an event list's server time. A formatter holds no request state, so sharing one
 * shares nothing between visitors. */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The formatter for this locale and these options (including the time zone), built on first use. */
export function dateTimeFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, options);
    formatters.set(key, format);
  }
  return format;
}
