import Models
import Testing

@testable import Delivery

/// Where the delivery service may call: checked before anything is sent (these tests send nothing).
@Suite("Outbound calls: https to public addresses unless a network is allowed")
struct OutboundPolicyTests {
    @Test("internal addresses, other schemes and plain http to the world are refused; an allowed network is called")
    func refusals() async throws {
        let strict = OutboundPolicy()
        for url in [
            "http+unix://%2Fvar%2Frun%2Fdocker.sock/x", "ftp://example.org/x", "file:///etc/passwd", "https://127.0.0.1:8080/hooks",
            "https://localhost/hooks", "https://10.1.2.3/", "https://172.20.0.1/", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data",
            "https://[::1]/", "https://[fe80::1]/", "https://[fd00::1]/", "https://[::ffff:127.0.0.1]/", "https://0.0.0.0/", "https://100.64.0.1/",
            "http://93.184.216.34/hooks",
        ] {
            #expect(await strict.refusal(url) != nil, "\(url) was allowed")
        }
        #expect(await strict.refusal("https://93.184.216.34/hooks") == nil, "a public address over https is allowed")
        let local = OutboundPolicy(allowedNetworks: try IPNetwork.list("127.0.0.0/8,::1/128"))
        #expect(await local.refusal("http://127.0.0.1:8089/deliveries") == nil)
        #expect(await local.refusal("http://localhost:8089/deliveries") == nil)
        #expect(await local.refusal("https://10.1.2.3/") != nil, "only the allowed networks")
        #expect(await local.refusal("http://93.184.216.34/") != nil, "plain http only inside the allowed networks")
    }
}
