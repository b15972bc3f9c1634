/** Turns one provider's stream into an OpenAI chat completion stream, event by event. One per response. */
export interface StreamMapper {
  /** One provider event (its `event:` field and its data) → the client's events as text ('' for none). */
  event(name: string | undefined, data: string): string
  /** The provider's stream ended: what is left to send. */
  end(): string
  /** The provider's stream broke: what to send before the gateway's own error event (which is in OpenAI's shape). */
  fail?(error: Error): string
}
