/** Where the shell's working directory is kept between calls, inside the container. */
const CWD_FILE = "/tmp/.sabuild-bash-cwd";

// Each call is a fresh `bash -lc`; like Claude Code's shell, the working directory carries over
// to the next call (a `cd` persists), while variables and functions do not. A login shell reads
// /etc/profile, which on Debian resets PATH: the image's PATH (a venv's bin, say) is put back in
// front of what the profile adds. A background command starts in that directory but does not
// move it: the foreground shell would otherwise jump when the background one ends.
function wrapper(keepCwd: boolean): string {
  return `if [ -n "\${SABUILD_IMAGE_PATH:-}" ]; then
  __p=$SABUILD_IMAGE_PATH
  IFS=: read -ra __dirs <<< "$PATH"
  for __d in "\${__dirs[@]}"; do case ":$__p:" in *":$__d:"*) ;; *) __p=$__p:$__d ;; esac; done
  PATH=$__p
  unset SABUILD_IMAGE_PATH __p __d __dirs
fi
if [ -f ${CWD_FILE} ]; then cd -- "$(cat ${CWD_FILE})" 2>/dev/null; fi
${keepCwd ? `trap 'pwd > ${CWD_FILE} 2>/dev/null' EXIT\n` : ""}__sabuild_command=$1
shift
eval "$__sabuild_command"`;
}

/** Hands the image's PATH to the login shell, which would otherwise lose it. */
const LAUNCH = 'SABUILD_IMAGE_PATH=$PATH exec bash -lc "$1" bash "$2"';

/** The argv that runs a model's command as the Bash tool does. */
export function shellArgv(command: string, options: { keepCwd: boolean }): string[] {
  return ["bash", "-c", LAUNCH, "bash", wrapper(options.keepCwd), command];
}
