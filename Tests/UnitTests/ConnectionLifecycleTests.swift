import IOCore
import Testing

/// Every event in every state of the connection lifecycle that the publisher, the consumer and the pool
/// share, without a broker or a database.
@Suite("The connection lifecycle, every event in every state")
struct ConnectionLifecycleTests {
    typealias Machine = ConnectionLifecycle<Int>
    static let t0 = ContinuousClock.now
    static let deadline = t0 + .seconds(10)

    /// The states, each reached by events only, as an owner would.
    enum Given: String, CaseIterable, CustomTestStringConvertible {
        case idle, connecting, retrying, connected, drainingConnected, drainingDisconnected, stopped
        var testDescription: String { rawValue }

        var machine: Machine {
            var machine = Machine(backoff: Backoff(base: .milliseconds(100), maximum: .seconds(10)))
            switch self {
            case .idle: break
            case .connecting: _ = machine.start()
            case .retrying: _ = machine.start(); _ = machine.connectFailed(); _ = machine.connectFailed()
            case .connected: _ = machine.start(); machine.connected()
            case .drainingConnected:
                _ = machine.start(); machine.connected(); _ = machine.stop(waiter: 1, now: t0, drainTimeout: .seconds(10))
            case .drainingDisconnected:
                _ = machine.start(); machine.connected(); _ = machine.stop(waiter: 1, now: t0, drainTimeout: .seconds(10)); machine.lost()
            case .stopped: _ = machine.stop(waiter: nil, now: t0, drainTimeout: nil)
            }
            return machine
        }

        var state: Machine.State {
            switch self {
            case .idle: .idle
            case .connecting: .running(.disconnected(failures: 0))
            case .retrying: .running(.disconnected(failures: 2))
            case .connected: .running(.connected)
            case .drainingConnected: .draining(.connected, deadline: deadline)
            case .drainingDisconnected: .draining(.disconnected(failures: 0), deadline: deadline)
            case .stopped: .stopped
            }
        }
    }

    @Test("each state is what its events make it", arguments: Given.allCases)
    func reached(_ given: Given) {
        #expect(given.machine.state == given.state)
    }

    @Test("start: only an idle one starts its thread", arguments: Given.allCases)
    func start(_ given: Given) {
        var machine = given.machine
        let starts = machine.start()
        #expect(starts == (given == .idle))
        #expect(machine.state == (given == .idle ? .running(.disconnected(failures: 0)) : given.state))
    }

    @Test("stop: nothing running answers at once; a running one drains; a draining one keeps the waiter", arguments: Given.allCases)
    func stop(_ given: Given) {
        var machine = given.machine
        let action = machine.stop(waiter: 7, now: Self.t0, drainTimeout: .seconds(10))
        switch given {
        case .idle, .stopped:
            guard case .resume(let waiters) = action else { Issue.record("\(action)"); return }
            #expect(waiters == [7])
            #expect(machine.state == .stopped)
        case .connecting, .retrying, .connected:
            guard case .wakeToDrain = action else { Issue.record("\(action)"); return }
            guard case .draining(let link, let deadline) = machine.state else { Issue.record("\(machine.state)"); return }
            #expect(link == (given == .connected ? .connected : given == .retrying ? .disconnected(failures: 2) : .disconnected(failures: 0)))
            #expect(deadline == Self.deadline)
            #expect(machine.finished() == [7])
        case .drainingConnected, .drainingDisconnected:
            guard case .wait = action else { Issue.record("\(action)"); return }
            #expect(machine.state == given.state, "a second stop moves no deadline")
            #expect(machine.finished() == [1, 7], "every stop is answered, in order")
        }
        #expect(!machine.acceptsWork)
        #expect(machine.isStopping)
    }

    @Test("a stop without a deadline drains until the work is done", arguments: [Given.connecting, .connected])
    func stopWithoutDeadline(_ given: Given) {
        var machine = given.machine
        _ = machine.stop(waiter: nil, now: Self.t0, drainTimeout: nil)
        #expect(machine.next(now: Self.t0 + .seconds(3600), holdsWork: true) != .finish)
        #expect(machine.next(now: Self.t0, holdsWork: false) == .finish)
    }

    @Test("next: connect, work, drain or finish", arguments: Given.allCases)
    func next(_ given: Given) {
        let machine = given.machine
        let early = Self.t0 + .seconds(1), late = Self.deadline
        let withWork = machine.next(now: early, holdsWork: true)
        let withoutWork = machine.next(now: early, holdsWork: false)
        let pastDeadline = machine.next(now: late, holdsWork: true)
        switch given {
        case .idle, .stopped:
            #expect([withWork, withoutWork, pastDeadline] == [.finish, .finish, .finish])
        case .connecting, .retrying:
            #expect([withWork, withoutWork, pastDeadline] == [.connect, .connect, .connect], "running, work held or not matters not")
        case .connected:
            #expect([withWork, withoutWork, pastDeadline] == [.work, .work, .work])
        case .drainingConnected:
            #expect([withWork, withoutWork, pastDeadline] == [.drain(deadline: Self.deadline), .finish, .finish])
        case .drainingDisconnected:
            #expect([withWork, withoutWork, pastDeadline] == [.connect, .finish, .finish], "reconnects only to finish held work")
        }
    }

    @Test("connected: counts the connection and says when it is a reconnect", arguments: Given.allCases)
    func connected(_ given: Given) {
        var machine = given.machine
        let before = machine.connections
        let reconnect = machine.connected()
        switch given {
        case .connecting, .retrying:
            #expect(machine.state == .running(.connected))
            #expect(machine.connections == before + 1)
            #expect(!reconnect)
            #expect(machine.isConnected)
        case .drainingDisconnected:
            #expect(machine.state == .draining(.connected, deadline: Self.deadline))
            #expect(reconnect, "its first connection was lost")
        case .idle, .stopped, .connected, .drainingConnected:
            #expect(machine.state == given.state, "not the thread's turn to connect: ignored")
            #expect(machine.connections == before)
            #expect(!reconnect)
        }
    }

    @Test("connectFailed: backs off, doubling from the last good connection", arguments: Given.allCases)
    func connectFailed(_ given: Given) {
        var machine = given.machine
        let delay = machine.connectFailed()
        switch given {
        case .connecting:
            #expect(machine.state == .running(.disconnected(failures: 1)))
            #expect(delay >= .milliseconds(50) && delay <= .milliseconds(100))
        case .retrying:
            #expect(machine.state == .running(.disconnected(failures: 3)))
            #expect(delay >= .milliseconds(200) && delay <= .milliseconds(400))
        case .drainingDisconnected:
            #expect(machine.state == .draining(.disconnected(failures: 1), deadline: Self.deadline))
            #expect(delay >= .milliseconds(50) && delay <= .milliseconds(100))
        case .idle, .stopped, .connected, .drainingConnected:
            #expect(machine.state == given.state)
            #expect(delay == .zero)
        }
    }

    @Test("lost: a connected link is disconnected with its failures from zero", arguments: Given.allCases)
    func lost(_ given: Given) {
        var machine = given.machine
        machine.lost()
        switch given {
        case .connected: #expect(machine.state == .running(.disconnected(failures: 0)))
        case .drainingConnected: #expect(machine.state == .draining(.disconnected(failures: 0), deadline: Self.deadline))
        default: #expect(machine.state == given.state)
        }
        #expect(!machine.isConnected)
    }

    @Test("finished: stopped, every waiter answered once", arguments: Given.allCases)
    func finished(_ given: Given) {
        var machine = given.machine
        let waiters = machine.finished()
        #expect(machine.state == .stopped)
        #expect(waiters == (given == .drainingConnected || given == .drainingDisconnected ? [1] : []))
        #expect(machine.finished().isEmpty)
        #expect(!machine.acceptsWork)
    }

    @Test("work is taken while idle (it waits for the start) and running, never once stopping", arguments: Given.allCases)
    func acceptsWork(_ given: Given) {
        #expect(given.machine.acceptsWork == [.idle, .connecting, .retrying, .connected].contains(given))
    }

    @Test func backoffDoublesToItsMaximumWithJitter() {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(10))
        #expect((0...8).map { backoff.ceiling(after: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600),
            .milliseconds(3200), .milliseconds(6400), .seconds(10), .seconds(10),
        ])
        #expect(backoff.ceiling(after: 1_000_000) == .seconds(10), "no overflow")
        for attempts in 0..<12 {
            let delay = backoff.delay(after: attempts)
            #expect(delay >= backoff.ceiling(after: attempts) / 2 && delay <= backoff.ceiling(after: attempts))
        }
    }
}
