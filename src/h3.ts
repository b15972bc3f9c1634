/**
 * `openai-forward/h3`: the h3 the gateway runs on, for configs and plugins (`getQuery(ctx.event)`,
 * `HTTPError`, …). Importing it from here, not from `h3`, keeps one copy of h3 in a project, so the
 * event, the errors and `instanceof` are the gateway's own, whatever h3 the project itself has.
 */
export * from 'h3'
