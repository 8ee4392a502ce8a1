import type { ResolvedSubagent } from "../config/index.js";
import type { Json } from "../engine/key.js";

// Apart from teacher.ts so that stages' inputs() can name the teacher without loading its client.

type TeacherSettings = ResolvedSubagent["teacher"];

/** What a stage key records about the teacher: never the key, and the URL only as written. */
export function teacherParams(teacher: TeacherSettings): Json {
  return {
    model: teacher.model,
    endpoint: teacher.standin ? `standin:${teacher.standin}` : teacher.base_url,
    max_tokens: teacher.max_tokens,
  };
}

/** Files a teacher-using stage depends on (the stand-in's policy module). */
export function teacherFiles(teacher: TeacherSettings): string[] {
  return teacher.standin ? [teacher.standin] : [];
}

