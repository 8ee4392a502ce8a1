export { startStandin, type Fault, type Standin, type StandinOptions, type StandinStats } from "./server.js";
export type { StandinPolicy, StandinReply } from "./reply.js";
export { echoPolicy } from "./policy.js";
export { startMessagesStandin, blockText, type MessagesPolicy, type MessagesRequest, type MessagesStandin } from "./messages.js";
