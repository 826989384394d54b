import Foundation
@testable import Store
import Testing
import Models
import ServiceSupport

@testable import Intake

/// Where a petition is in its life (not open yet, open, paused, closed), and what intake answers for each.
@Suite("Signing window and pause")
struct PetitionPhaseTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func petition(opensIn: TimeInterval? = nil, closesIn: TimeInterval? = nil, paused: Bool = false, status: Petition.Status = .open) -> Petition {
        Petition(
            id: 1, slug: "call", title: "Call", body: "", status: status, closesAt: closesIn.map { now + $0 }, milestones: [],
            createdAt: now - 3600, opensAt: opensIn.map { now + $0 }, pausedAt: paused ? now - 5 : nil)
    }

    @Test func phases() {
        #expect(Self.petition().phase(at: Self.now) == .open)
        #expect(Self.petition(opensIn: 60).phase(at: Self.now) == .scheduled)
        #expect(Self.petition(opensIn: -60).phase(at: Self.now) == .open)
        #expect(Self.petition(paused: true).phase(at: Self.now) == .paused)
        #expect(Self.petition(opensIn: 60, paused: true).phase(at: Self.now) == .scheduled, "not open yet comes before paused")
        #expect(Self.petition(closesIn: -1, paused: true).phase(at: Self.now) == .closed, "closed comes before everything")
        #expect(Self.petition(status: .closed).phase(at: Self.now) == .closed)
        #expect(Self.petition(closesIn: 0).phase(at: Self.now) == .closed, "at its closing time it is closed")
        #expect(!Self.petition(paused: true).isTakingSignatures(at: Self.now))
    }

    @Test func intakeSaysWhyItTakesNoSignature() throws {
        #expect(SignatureRoutes.refusal(Self.petition(), at: Self.now) == nil)
        let early = try #require(SignatureRoutes.refusal(Self.petition(opensIn: 90.5), at: Self.now))
        #expect(early.statusCode == 403 && early.retryAfter == 91 && early.extra["opens_at"] == "2027-01-15T08:01:30.500Z")
        #expect(try #require(SignatureRoutes.refusal(Self.petition(opensIn: 86_400), at: Self.now)).retryAfter == 3600, "at most an hour")
        let paused = try #require(SignatureRoutes.refusal(Self.petition(paused: true), at: Self.now))
        #expect(paused.statusCode == 503 && paused.retryAfter == 30)
        #expect(try #require(SignatureRoutes.refusal(Self.petition(status: .closed), at: Self.now)).statusCode == 410)
    }
}

/// Rehearsals, kiosks and the call's report, where they are pure logic.
@Suite("Stage call: rehearsal phase, refusal reasons, the report's chart")
struct StageCallTests {
    @Test func aRehearsalTakesSignaturesBeforeTheOpeningButNotWhilePaused() throws {
        var petition = PetitionPhaseTests.petition(opensIn: 3600)
        petition.rehearsal = Petition.Rehearsal(id: 9, slug: "rehearsal-of-1")
        #expect(petition.phase(at: PetitionPhaseTests.now) == .scheduled && petition.signingPhase(at: PetitionPhaseTests.now) == .open)
        #expect(petition.signingSlug == "rehearsal-of-1" && SignatureRoutes.refusal(petition, at: PetitionPhaseTests.now) == nil)
        petition.pausedAt = PetitionPhaseTests.now
        #expect(try #require(SignatureRoutes.refusal(petition, at: PetitionPhaseTests.now)).statusCode == 503)
    }

    @Test func refusalsAreTalliedByReason() {
        let reasons = [
            Problem(.unprocessableContent, title: "Invalid", detail: "", field: "email"), Problem(.tooManyRequests, title: "Slow down", detail: ""),
            SignatureRoutes.refusal(PetitionPhaseTests.petition(opensIn: 60), at: PetitionPhaseTests.now)!,
            SignatureRoutes.refusal(PetitionPhaseTests.petition(paused: true), at: PetitionPhaseTests.now)!,
            SignatureRoutes.refusal(PetitionPhaseTests.petition(status: .closed), at: PetitionPhaseTests.now)!,
            Problem(.serviceUnavailable, title: "Try again shortly", detail: ""), Problem(.unauthorized, title: "Kiosk not recognised", detail: ""),
        ].map(RefusalTally.reason)
        #expect(reasons == ["invalid:email", "rate_limited", "not_open", "paused", "closed", "unavailable", "kiosk_refused"])
    }

    @Test func aSignerCannotClaimAKioskSource() {
        #expect(throws: ValidationProblem.self) { try SignatureRequest.publicSource("kiosk:gate-1") }
        #expect((try? SignatureRequest.publicSource("screen:main")) == "screen:main")
    }
}
