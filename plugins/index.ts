/**
 * The built-in plugins. Each is written only against the public plugin API (`openai-forward`),
 * exactly as a user's own plugin would be.
 */
export {}
