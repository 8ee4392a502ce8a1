import type { ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";

// Apart from teacher.ts so that stages' inputs() can name the teacher without loading its client.

type TeacherSettings = ResolvedSubagent["teacher"];

const STANDIN_SCHEME = "standin:";

/** The endpoint a stand-in teacher is known by, in keys and in traces' model identity (never its loopback URL). */
export function standinEndpoint(policy: string): string {
  return `${STANDIN_SCHEME}${policy}`;
}

/** The stand-in's policy module when a trace's model was one (its base_url is a standin endpoint), else undefined. */
export function standinPolicyOf(baseUrl: string): string | undefined {
  return baseUrl.startsWith(STANDIN_SCHEME) ? baseUrl.slice(STANDIN_SCHEME.length) : undefined;
}

/** What a stage key records about the teacher: never the key, and the URL only as written. */
export function teacherParams(teacher: TeacherSettings): Json {
  return {
    model: teacher.model,
    endpoint: teacher.standin ? standinEndpoint(teacher.standin) : teacher.base_url,
    max_tokens: teacher.max_tokens,
  };
}

/** Files a teacher-using stage depends on (the stand-in's policy module). */
export function teacherFiles(teacher: TeacherSettings): string[] {
  return teacher.standin ? [teacher.standin] : [];
}

