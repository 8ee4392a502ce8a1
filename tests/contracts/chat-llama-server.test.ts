import { dirname } from "node:path";
import { describeChatEndpointContract } from "./chat-endpoint.js";
import { llamaTools, tinyGguf } from "./support/tiny-gguf.js";

// llama-server as the export stage and `sabuild serve` start it: the managed Debian sid build,
// in the sabuild/llama.cpp image, serving a tiny random-init Qwen3.
describeChatEndpointContract("llama-server (Debian sid, tiny Qwen3 GGUF)", async () => {
  const tools = await llamaTools();
  const model = await tinyGguf(tools);
  const server = await tools.server.start({ model, dirs: [dirname(model)] });
  return { baseURL: `${server.url}/v1`, close: () => server.stop() };
});
