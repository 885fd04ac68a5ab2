import type { Assumptions } from './assumptions.ts';
import { frameBytes } from './sizes.ts';

/** Per message sent, averaged over the group mix. */
export type PerMessage = {
  /** new_message frames to online devices (recipients' devices and the sender's other devices). */
  deliveries: number;
  /** Receipt events appended (online recipients' delivered and read marks). */
  deliveredMarks: number;
  readMarks: number;
  /** message_status frames: each receipt to the online devices of every member (small groups) or of the marker. */
  statusDeliveries: number;
  typingDeliveries: number;
  /** Member → gateway lookups the fan-out makes: one per member, for the message and for each receipt and typing frame. */
  memberLookups: number;
  /** Members whose inbox list gets a ZADD (groups in push mode). */
  inboxListWrites: number;
};

export type Load = {
  avgMsgsPerS: number;
  peakMsgsPerS: number;
  onlineUsers: number;
  sockets: number;
  perMessage: PerMessage;
  deliveriesPerS: number;
  statusDeliveriesPerS: number;
  typingFramesPerS: number;
  typingDeliveriesPerS: number;
  receiptEventsPerS: number;
  appendsPerS: number;
  heartbeatsPerS: number;
  sessionStartsPerS: number;
  presenceChangesPerS: number;
  presenceUpdatesPerS: number;
  /** Every frame written to a socket except acks and pings. */
  framesOutPerS: number;
  bytesInPerS: number;
  bytesOutPerS: number;
};

const DAY = 86_400;

export const perMessage = (a: Assumptions): PerMessage => {
  const p = a.onlineShare,
    d = a.devicesPerUser;
  const sum = (f: (n: number) => number) => a.groupMix.reduce((acc, g) => acc + g.share * f(g.size), 0);
  const onlineRecipients = (n: number) => (n - 1) * p;
  const statusFan = (n: number) => (n <= a.statusFanoutMaxMembers ? d + (n - 1) * p * d : d);
  const marks = a.deliveredMarks + a.readMarks;
  return {
    deliveries: sum((n) => onlineRecipients(n) * d + (d - 1)),
    deliveredMarks: sum((n) => onlineRecipients(n) * a.deliveredMarks),
    readMarks: sum((n) => onlineRecipients(n) * a.readMarks),
    statusDeliveries: sum((n) => onlineRecipients(n) * marks * statusFan(n)),
    typingDeliveries: sum((n) => a.typingPerMsg * onlineRecipients(n) * d),
    memberLookups: sum((n) => n + onlineRecipients(n) * marks * (n <= a.statusFanoutMaxMembers ? n : 1) + a.typingPerMsg * (n - 1)),
    inboxListWrites: sum((n) => (n <= a.inboxFanoutMaxMembers ? n : 0)),
  };
};

/** Expected number of gateways holding at least one of `devices` devices spread evenly over `gateways`. */
export const gatewaysReached = (devices: number, gateways: number) => (devices <= 0 ? 0 : gateways <= 1 ? 1 : gateways * (1 - (1 - 1 / gateways) ** devices));

/**
 * Redis publishes per message sent with `gateways` gateways: a frame goes once to each gateway that
 * holds a target device (adapters/redis/delivery.ts), for the message, each receipt and each typing frame.
 */
export const publishesPerMessage = (a: Assumptions, gateways: number) => {
  const p = a.onlineShare,
    d = a.devicesPerUser,
    marks = a.deliveredMarks + a.readMarks;
  return a.groupMix.reduce((acc, { size: n, share }) => {
    const statusTargets = n <= a.statusFanoutMaxMembers ? d + (n - 1) * p * d : d;
    return (
      acc +
      share *
        (gatewaysReached(d + (n - 1) * p * d, gateways) +
          (n - 1) * p * marks * gatewaysReached(statusTargets, gateways) +
          a.typingPerMsg * gatewaysReached((n - 1) * p * d, gateways))
    );
  }, 0);
};

/** Redis publishes per presence change: once per gateway holding an online contact's device. */
export const publishesPerPresenceChange = (a: Assumptions, gateways: number) => gatewaysReached(a.contacts * a.onlineShare * a.devicesPerUser, gateways);

/** The peak-hour traffic the assumptions give; pure arithmetic, no measured figure. */
export const peakLoad = (a: Assumptions): Load => {
  const avgMsgsPerS = (a.dau * a.msgsPerUserDay) / DAY;
  const peakMsgsPerS = avgMsgsPerS * a.peakFactor;
  const onlineUsers = a.dau * a.onlineShare;
  const sockets = onlineUsers * a.devicesPerUser;
  const m = perMessage(a);
  const bytes = frameBytes(a.messageBytes);
  const receiptsPerMsg = m.deliveredMarks + m.readMarks;
  const heartbeatsPerS = sockets / a.heartbeatSeconds;
  // Sessions follow the day's curve like messages do: the peak hour has peakFactor × the average rate.
  const sessionStartsPerS = ((a.dau * a.sessionsPerUserDay * a.devicesPerUser) / DAY) * a.peakFactor;
  const presenceChangesPerS = ((a.dau * a.sessionsPerUserDay * 2) / DAY) * a.peakFactor;
  const presenceUpdatesPerS = presenceChangesPerS * a.contacts * a.onlineShare * a.devicesPerUser;
  const deliveriesPerS = peakMsgsPerS * m.deliveries;
  const statusDeliveriesPerS = peakMsgsPerS * m.statusDeliveries;
  const typingFramesPerS = peakMsgsPerS * a.typingPerMsg;
  const typingDeliveriesPerS = peakMsgsPerS * m.typingDeliveries;
  const receiptEventsPerS = peakMsgsPerS * receiptsPerMsg;
  return {
    avgMsgsPerS,
    peakMsgsPerS,
    onlineUsers,
    sockets,
    perMessage: m,
    deliveriesPerS,
    statusDeliveriesPerS,
    typingFramesPerS,
    typingDeliveriesPerS,
    receiptEventsPerS,
    appendsPerS: peakMsgsPerS + receiptEventsPerS,
    heartbeatsPerS,
    sessionStartsPerS,
    presenceChangesPerS,
    presenceUpdatesPerS,
    framesOutPerS: deliveriesPerS + statusDeliveriesPerS + typingDeliveriesPerS + presenceUpdatesPerS,
    bytesInPerS: peakMsgsPerS * (bytes.sendIn + a.typingPerMsg * bytes.typingIn + receiptsPerMsg * bytes.markIn) + heartbeatsPerS * bytes.pongIn,
    bytesOutPerS:
      peakMsgsPerS * bytes.ackOut +
      deliveriesPerS * bytes.messageOut +
      statusDeliveriesPerS * bytes.statusOut +
      typingDeliveriesPerS * bytes.typingOut +
      presenceUpdatesPerS * bytes.presenceOut +
      heartbeatsPerS * bytes.pingOut,
  };
};
