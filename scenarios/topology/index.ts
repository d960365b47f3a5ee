// The topology backends by name, and what each must check before anything is provisioned.
import { checkContainerBackend, startContainers } from "./container.js";
import { startInprocess } from "./inprocess.js";
import { checkMultiHost, startMultiHost } from "./multi-host.js";
import { checkNetnsBackend, startNetns } from "./netns.js";
import { startProcesses } from "./process.js";
import type { Backend, Deployment, TopologyContext } from "./types.js";

/** Throws TopologyUnavailable (skip) or TopologyError (cannot run) before anything starts. */
export async function preflight(backend: Backend): Promise<void> {
  if (backend === "container") await checkContainerBackend();
  if (backend === "netns") await checkNetnsBackend();
  if (backend === "multi-host") await checkMultiHost();
}

export function startBackend(backend: Backend, ctx: TopologyContext): Promise<Deployment> {
  switch (backend) {
    case "inprocess":
      return startInprocess(ctx);
    case "process":
      return startProcesses(ctx);
    case "netns":
      return startNetns(ctx);
    case "container":
      return startContainers(ctx);
    case "multi-host":
      return startMultiHost(ctx);
  }
}
