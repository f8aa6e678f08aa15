/** A canonical uuid, for ids that arrive outside a validated path parameter: anything else is
 * simply not found, never a database error. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
