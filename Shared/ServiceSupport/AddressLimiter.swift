import Hummingbird
import Models
import NIOCore
import NIOHTTPTypes
import Synchronization

/// A router's request context: Hummingbird's, plus the peer's address (rate limits and per-address caps).
public struct PeerRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Places held by addresses, at most `perAddress` from one address (an IPv6 client by its /64) and `total`
/// in all. Tally's live streams (Server-Sent Events: each costs a connection and a subscriber, and a screen
/// needs one; counted while the body is being written, so one that ends, however it ends, is released),
/// and the connections of a public server (`ConnectionCapHandler`).
public final class AddressLimiter: Sendable {
    private let perAddress: Int
    private let total: Int
    private let open = Mutex<(byAddress: [IPAddress: Int], total: Int)>(([:], 0))

    /// `perAddress` 0: no per-address cap.
    public init(perAddress: Int, total: Int) {
        self.perAddress = perAddress
        self.total = total
    }

    /// Takes a place for a stream from `address`; false when its address or the whole service is full.
    public func acquire(_ address: IPAddress?) -> Bool {
        let key = address?.limitKey
        return open.withLock { open in
            guard open.total < total else { return false }
            if let key, perAddress > 0 {
                guard open.byAddress[key, default: 0] < perAddress else { return false }
                open.byAddress[key, default: 0] += 1
            }
            open.total += 1
            return true
        }
    }

    public func release(_ address: IPAddress?) {
        let key = address?.limitKey
        open.withLock { open in
            open.total -= 1
            if let key, perAddress > 0, let count = open.byAddress[key] {
                open.byAddress[key] = count > 1 ? count - 1 : nil
            }
        }
    }

    /// Whether a stream from `address` would be taken now (without taking a place).
    public func hasRoom(for address: IPAddress?) -> Bool {
        let key = address?.limitKey
        return open.withLock { open in
            open.total < total && (key == nil || perAddress == 0 || open.byAddress[key!, default: 0] < perAddress)
        }
    }

    public var openStreams: Int { open.withLock { $0.total } }
}

/// Caps the connections one address holds on a public server: each costs a socket, buffers and a task,
/// whether or not it ever sends a request (the idle timeout ends a silent one after 30 s; this stops one
/// address from opening thousands meanwhile). A connection past the cap is closed at once. Addresses in
/// `exempt` (trusted proxies, which are many clients' address; allow-listed networks, such as a festival's
/// NAT) are not counted.
final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    private let limiter: AddressLimiter
    private let exempt: [IPNetwork]
    private var held: IPAddress??

    init(limiter: AddressLimiter, exempt: [IPNetwork]) {
        self.limiter = limiter
        self.exempt = exempt
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress.flatMap(IPAddress.init)
        if let address, exempt.containsAddress(address) { return }
        if limiter.acquire(address) {
            held = .some(address)
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        giveBack()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        giveBack()
    }

    private func giveBack() {
        if case .some(let address) = held { limiter.release(address) }
        held = nil
    }
}
