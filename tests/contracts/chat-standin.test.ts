import { startStandin } from "../../src/standin/server.js";
import { echoPolicy } from "../../src/standin/policy.js";
import { describeChatEndpointContract } from "./chat-endpoint.js";

describeChatEndpointContract("the stand-in server (echo policy)", async () => {
  const standin = await startStandin({ policy: echoPolicy, apiKey: "sk-contract" });
  return { baseURL: standin.url, apiKey: "sk-contract", close: () => standin.close() };
});
