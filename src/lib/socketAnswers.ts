// Whether something accepts connections on a unix socket: a cheap sign of
// life, with none of a service manager's cost.
import { connect } from "node:net";

export function socketAnswers(path: string, timeoutMs = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}
