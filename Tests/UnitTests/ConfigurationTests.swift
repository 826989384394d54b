import AMQP
import Dedup
import Intake
import Models
import ServiceSupport
import Tally
import Testing

@Suite("Configuration from the environment")
struct ConfigurationTests {
    let secret = String(repeating: "ab", count: 32)

    @Test func defaultsWorkAgainstTheLocalServers() throws {
        let intake = try IntakeConfiguration(environment: [:])
        #expect(intake.port == 8080)
        #expect(intake.common.amqp.host == "127.0.0.1")
        #expect(intake.common.amqp.port == 5672)
        #expect(intake.common.amqp.virtualHost == "/")
        #expect(intake.common.databaseURL == CommonConfiguration.defaultDatabaseURL)
        #expect(intake.envelopeSize == 500)
        #expect(intake.common.topology.dedupQueue == "dedup.submitted")
    }

    @Test func readsTypedValues() throws {
        let intake = try IntakeConfiguration(environment: [
            "UNDERSIGNED_AMQP_URL": "amqp://intake:s3cret@broker.internal:5673/festival",
            "UNDERSIGNED_INTAKE_PORT": "9000",
            "UNDERSIGNED_ENVELOPE_DELAY_MS": "5",
            "UNDERSIGNED_TOPOLOGY_PREFIX": "staging.",
            "UNDERSIGNED_MIGRATE_ON_START": "no",
        ])
        #expect(intake.port == 9000)
        #expect(intake.envelopeDelay == .milliseconds(5))
        #expect(intake.common.amqp.user == "intake")
        #expect(intake.common.amqp.password == "s3cret")
        #expect(intake.common.amqp.host == "broker.internal")
        #expect(intake.common.amqp.port == 5673)
        #expect(intake.common.amqp.virtualHost == "festival")
        #expect(intake.common.amqp.redacted == "amqp://intake@broker.internal:5673/festival")
        #expect(intake.common.topology.dedupQueue == "staging.dedup.submitted")
        #expect(intake.common.migrateOnStart == false)
    }

    @Test("every problem is reported at once, naming the variable")
    func reportsAllProblems() {
        do {
            _ = try IntakeConfiguration(environment: [
                "UNDERSIGNED_INTAKE_PORT": "eighty",
                "UNDERSIGNED_ENVELOPE_SIZE": "5000",
                "UNDERSIGNED_AMQP_URL": "http://nope",
                "UNDERSIGNED_LOG_LEVEL": "loud",
            ])
            Issue.record("a bad configuration was accepted")
        } catch let error as ConfigurationError {
            #expect(error.problems.count == 4)
            for name in ["UNDERSIGNED_INTAKE_PORT", "UNDERSIGNED_ENVELOPE_SIZE", "UNDERSIGNED_AMQP_URL", "UNDERSIGNED_LOG_LEVEL"] {
                #expect(error.problems.contains { $0.hasPrefix(name) }, "no problem names \(name)")
            }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("dedup refuses to start without a signer secret, and never prints it")
    func secretIsRequired() throws {
        #expect(throws: ConfigurationError.self) { try DedupConfiguration(environment: [:]) }
        do {
            _ = try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": "deadbeef"])
            Issue.record("a short secret was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("UNDERSIGNED_SIGNER_SECRET"))
            #expect(!error.description.contains("deadbeef"))
        }
        // Parsed once, into the keys themselves: hex and base64 of the same secret key signers alike.
        let email = try CanonicalEmail("festival@example.org")
        let hex = try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": "abcdef1234567890abcdef1234567890abcdef1234567890abcdef1234567890"])
        let base64 = try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="])
        #expect(hex.keys.key(for: email) == base64.keys.key(for: email))
        #expect(try hex.keys.key(for: email) != DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": secret]).keys.key(for: email))
        #expect(hex.sealer == nil, "no data keys, no sealer")
        #expect(throws: ConfigurationError.self) {
            try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": secret, "UNDERSIGNED_DATA_KEYS": "1:short"])
        }
    }

    @Test("dedup's defaults are one set: from the environment as from the initialiser; a batch above the prefetch is refused at start")
    func dedupDefaultsAreWrittenOnce() throws {
        let read = try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": secret])
        let made = DedupConfiguration(common: read.common, keys: read.keys)
        #expect(read.prefetch == made.prefetch && read.batchSize == made.batchSize && read.consumers == made.consumers)
        #expect(read.opsPort == made.opsPort && read.verificationTime == made.verificationTime && read.partnerRefresh == made.partnerRefresh)
        #expect(read.batchSize <= read.prefetch, "a batch the broker can fill")
        #expect(try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": secret, "UNDERSIGNED_DEDUP_PREFETCH": "10"]).batchSize == 10)
        do {
            _ = try DedupConfiguration(environment: ["UNDERSIGNED_SIGNER_SECRET": secret, "UNDERSIGNED_DEDUP_BATCH": "50"])
            Issue.record("a batch of 50 with a prefetch of 32 was taken")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("UNDERSIGNED_DEDUP_BATCH (50) must be at most UNDERSIGNED_DEDUP_PREFETCH (32)"))
        }
    }

    @Test func tallyShardsAreStablePerInstance() throws {
        let a = try TallyConfiguration(environment: ["UNDERSIGNED_INSTANCE": "tally-1"])
        let b = try TallyConfiguration(environment: ["UNDERSIGNED_INSTANCE": "tally-1"])
        #expect(a.shard == b.shard)
        #expect((0...63).contains(a.shard))
        #expect(try TallyConfiguration(environment: ["UNDERSIGNED_TALLY_SHARD": "7"]).shard == 7)
        #expect(throws: ConfigurationError.self) { try TallyConfiguration(environment: ["UNDERSIGNED_TALLY_SHARD": "64"]) }
    }
}
