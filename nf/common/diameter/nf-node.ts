// The Diameter node of a running NF: built from its section's settings, listening when it serves
// a reference point, connecting to the peers it asks, closed (DPR to every peer, RFC 6733 §5.4)
// by the NF's cleanup stack.
import type { CleanupStack } from "../cleanup.js";
import type { ListenConfig } from "../config.js";
import { type DiameterTimers, formatHostPort, nodeIdentity } from "./config.js";
import type { DiameterLogger, MessageTap } from "./connection.js";
import { DiameterNode, type DiameterPeerConfig } from "./node.js";

export interface NfDiameterNodeOptions {
  identity: DiameterTimers & { originHost: string; originRealm: string };
  /** Auth-Application-Ids served or used */
  applications: number[];
  peers: DiameterPeerConfig[];
  /** where to listen; undefined: the node only connects */
  listen?: ListenConfig;
  log: DiameterLogger;
  tap?: MessageTap;
  /** registers the NF's Diameter routes before the node listens */
  mount?: (node: DiameterNode) => void;
}

export interface NfDiameterNode {
  node: DiameterNode;
  /** "host:port" of the listener, as the ready line names it */
  listening?: string;
}

export async function openNfDiameterNode(o: NfDiameterNodeOptions, cleanup: CleanupStack): Promise<NfDiameterNode> {
  const node = new DiameterNode({
    ...nodeIdentity(o.identity),
    applications: o.applications,
    peers: o.peers,
    logger: o.log,
    tap: o.tap,
  });
  cleanup.push(() => node.close());
  o.mount?.(node);
  let listening: string | undefined;
  if (o.listen) {
    const a = await node.listen(o.listen.port, o.listen.host);
    listening = formatHostPort(a.host, a.port);
  }
  // peers with a connect address are dialled now and redialled after Tc
  node.start();
  return { node, listening };
}
