/**
 * An Ollama Modelfile next to the GGUFs. Ollama templates are Go templates, not Jinja, so the
 * chat template cannot be carried over in general: for ChatML models (Qwen and others using
 * <|im_start|>) it writes a Go template that renders the same prompt, tools and tool calls
 * included; for other families it leaves TEMPLATE out, and Ollama picks the template from the
 * GGUF's tokenizer.chat_template.
 */

const CHATML_TEMPLATE = `{{- if or .System .Tools }}<|im_start|>system
{{ if .System }}{{ .System }}{{ if .Tools }}

{{ end }}{{ end }}{{ if .Tools }}# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>{{ range .Tools }}
{"type": "function", "function": {{ .Function }}}{{ end }}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>{{ end }}<|im_end|>
{{ end }}{{ range $i, $msg := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}{{ if eq $msg.Role "user" }}<|im_start|>user
{{ $msg.Content }}<|im_end|>
{{ else if eq $msg.Role "assistant" }}<|im_start|>assistant
{{ $msg.Content }}{{ range $j, $call := $msg.ToolCalls }}{{ if or $j $msg.Content }}
{{ end }}<tool_call>
{"name": "{{ $call.Function.Name }}", "arguments": {{ $call.Function.Arguments }}}
</tool_call>{{ end }}{{ if not $last }}<|im_end|>
{{ end }}{{ else if eq $msg.Role "tool" }}<|im_start|>user
<tool_response>
{{ $msg.Content }}
</tool_response><|im_end|>
{{ end }}{{ if and $last (ne $msg.Role "assistant") }}<|im_start|>assistant
{{ end }}{{ end }}`;

export interface ModelfileInput {
  /** The GGUF that FROM names, relative to the Modelfile. */
  gguf: string;
  /** The model's Jinja chat template. */
  chatTemplate: string | undefined;
  /** Token texts that end a turn (eos and friends). */
  stopTokens: string[];
}

function quote(value: string): string {
  return JSON.stringify(value);
}

export function isChatMl(template: string | undefined): boolean {
  return !!template && template.includes("<|im_start|>") && template.includes("<|im_end|>");
}

export function modelfile(input: ModelfileInput): string {
  const lines = [`FROM ./${input.gguf}`, ""];
  const stops = [...new Set(isChatMl(input.chatTemplate) ? ["<|im_end|>", ...input.stopTokens] : input.stopTokens)];
  if (isChatMl(input.chatTemplate)) {
    lines.push("# ChatML with tools, as the model's chat template renders it (the template travels in Go syntax).");
    lines.push(`TEMPLATE """${CHATML_TEMPLATE}"""`, "");
  } else {
    lines.push("# No TEMPLATE: Ollama reads the chat template from the GGUF's tokenizer.chat_template.", "");
  }
  for (const stop of stops) lines.push(`PARAMETER stop ${quote(stop)}`);
  return `${lines.join("\n")}\n`;
}
