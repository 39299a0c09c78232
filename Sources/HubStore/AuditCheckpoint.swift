public import CaseModel
public import Crypto
public import Foundation

/// A signed statement of where every audit chain stood at one instant: each
/// chain's head (chain, position, hash) and a root hash over them, signed
/// with the hub's own Ed25519 key.
///
/// Like a transparency log's signed tree head, it is worth something only
/// outside the database it describes: an auditor who keeps the checkpoints
/// (from the `checkpoints` topic, or an export) and the hub's public key can
/// show that the rows a checkpoint covers are still the rows that were
/// there, even if someone with write access to PostgreSQL rewrote a chain
/// and recomputed every hash consistently.
///
/// The signed body is plain text, one item a line:
///
///     casehub audit checkpoint v1
///     origin <deployment, e.g. the topic prefix>
///     time <RFC 3339>
///     key <key id>
///     chains <count>
///     <chain> <position> <hash, hex>      (one line per chain, in chain order)
///     root <SHA-256, hex, over the chain lines>
public struct AuditCheckpoint: Sendable, Hashable {
    public struct Head: Sendable, Hashable {
        public var shard: Int
        public var seq: Int64
        public var hash: [UInt8]

        public init(shard: Int, seq: Int64, hash: [UInt8]) {
            self.shard = shard
            self.seq = seq
            self.hash = hash
        }
    }

    public static let header = "casehub audit checkpoint v1"

    public var origin: String
    public var time: Date
    public var keyID: String
    public var heads: [Head]

    public init(origin: String, time: Date, keyID: String, heads: [Head]) {
        self.origin = origin
        self.time = time
        self.keyID = keyID
        self.heads = heads.sorted { $0.shard < $1.shard }
    }

    var headLines: [String] { heads.map { "\($0.shard) \($0.seq) \(Self.hex($0.hash))" } }

    /// SHA-256 over the chain lines, each followed by a newline.
    public var root: [UInt8] {
        Array(SHA256.hash(data: Array(headLines.map { $0 + "\n" }.joined().utf8)))
    }

    /// The text that is signed.
    public var body: String {
        ([Self.header, "origin \(origin)", "time \(RFC3339.format(time))", "key \(keyID)", "chains \(heads.count)"]
            + headLines + ["root \(Self.hex(root))"]).joined(separator: "\n") + "\n"
    }

    public func signature(with key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        Array(try key.signature(for: Array(body.utf8)))
    }

    /// Why a checkpoint's text is not one.
    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a body back; the root must match the chain lines.
    public init(body: String) throws(Malformed) {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func value(_ index: Int, _ name: String) throws(Malformed) -> String {
            guard index < lines.count, lines[index].hasPrefix(name + " ") else { throw Malformed(description: "line \(index + 1): expected '\(name) …'") }
            return String(lines[index].dropFirst(name.count + 1))
        }
        guard lines.first == Self.header else { throw Malformed(description: "not a CaseHub audit checkpoint") }
        origin = try value(1, "origin")
        guard let time = RFC3339.parse(try value(2, "time")) else { throw Malformed(description: "line 3: not an RFC 3339 time") }
        self.time = time
        keyID = try value(3, "key")
        guard let count = Int(try value(4, "chains")), count >= 0, lines.count >= 5 + count + 1 else {
            throw Malformed(description: "line 5: the chain count does not match the lines")
        }
        var heads: [Head] = []
        for index in 5..<(5 + count) {
            let parts = lines[index].split(separator: " ")
            guard parts.count == 3, let shard = Int(parts[0]), let seq = Int64(parts[1]), let hash = Self.bytes(hex: String(parts[2])) else {
                throw Malformed(description: "line \(index + 1): expected '<chain> <position> <hash>'")
            }
            heads.append(Head(shard: shard, seq: seq, hash: hash))
        }
        self.heads = heads
        guard Self.bytes(hex: try value(5 + count, "root")) == root else {
            throw Malformed(description: "the root does not match the chain lines")
        }
    }

    /// Whether `signature` is the holder of `publicKey`'s over this body.
    public func isSigned(_ signature: [UInt8], by publicKey: Curve25519.Signing.PublicKey) -> Bool {
        publicKey.isValidSignature(signature, for: Array(body.utf8))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func bytes(hex: String) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}

extension AuditCheckpoint {
    /// A checkpoint as published and exported: one JSON object a line.
    public struct Signed: Sendable, Hashable {
        public var checkpoint: AuditCheckpoint
        public var signature: [UInt8]

        public init(checkpoint: AuditCheckpoint, signature: [UInt8]) {
            self.checkpoint = checkpoint
            self.signature = signature
        }

        public var json: JSONValue {
            ["body": .string(checkpoint.body), "signature": .string(Data(signature).base64EncodedString()),
             "keyId": .string(checkpoint.keyID)]
        }

        public init(json: JSONValue) throws(Malformed) {
            guard let body = json["body"]?.stringValue, let text = json["signature"]?.stringValue,
                  let signature = Data(base64Encoded: text) else {
                throw Malformed(description: "expected {\"body\": …, \"signature\": base64}")
            }
            checkpoint = try AuditCheckpoint(body: body)
            self.signature = Array(signature)
        }
    }
}
