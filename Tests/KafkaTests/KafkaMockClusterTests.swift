import Foundation
@testable import Kafka
import Logging
import Testing
import TestSupport

/// The Kafka layer against librdkafka's in-process mock cluster: no external
/// broker, every broker on loopback, each test its own cluster. Runs anywhere
/// the librdkafka loaded at run time is 2.2 or newer.
@Suite(.timeLimit(.minutes(1)))
struct KafkaMockClusterTests {
    let logger: Logger = {
        var logger = Logger(label: "test.kafka.mock")
        logger.logLevel = .critical
        return logger
    }()

    /// A new mock cluster whose groups rebalance as soon as a member joins.
    func makeCluster(brokers: Int = 1) throws -> RDKafkaMockCluster {
        let cluster = try RDKafkaMockCluster(brokers: brokers, logger: logger)
        // Without it (librdkafka before 2.3), a group's first join waits 3 s: slower, still correct.
        cluster.setGroupInitialRebalanceDelay(milliseconds: 0)
        return cluster
    }

    func consumerConfiguration(_ cluster: RDKafkaMockCluster, group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(connection: cluster.configuration(), groupID: group)
        // The mock holds a group that lost or gained a member for its session timeout less 1 s.
        configuration.sessionTimeoutMilliseconds = 3_000
        configuration.connection.properties["heartbeat.interval.ms"] = "500"
        return configuration
    }

    func producerConfiguration(_ cluster: RDKafkaMockCluster) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(connection: cluster.configuration())
        // Reconnect quickly after a broker comes back.
        configuration.connection.properties["reconnect.backoff.max.ms"] = "200"
        return configuration
    }

    /// Consumes until `count` messages arrived or `timeout` passed.
    func consume(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(10)) async throws -> [KafkaMessage] {
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while received.count < count, ContinuousClock.now < deadline {
            received += try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200)
        }
        return received
    }

    /// Polls until the group has given this consumer its partitions.
    func awaitAssignment(_ consumer: KafkaConsumer, count: Int) async -> Bool {
        await eventually(timeout: .seconds(10), every: .milliseconds(1)) {
            _ = try? await consumer.nextBatch(maxMessages: 1, maxWaitMilliseconds: 100)
            return consumer.assignment.count == count
        }
    }

    @Test func mockClusterListensOnLoopback() throws {
        let cluster = try makeCluster(brokers: 3)
        let servers = cluster.bootstrapServers.split(separator: ",")
        #expect(servers.count == 3)
        #expect(servers.allSatisfy { $0.hasPrefix("127.0.0.1:") || $0.hasPrefix("localhost:") })
    }

    @Test func roundTripKeepsKeysHeadersValuesAndPerKeyOrder() async throws {
        let cluster = try makeCluster(brokers: 3)
        let topic = "round-trip"
        try cluster.createTopic(topic, partitions: 3)

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        var messages = (0..<60).map { index in
            KafkaOutgoingMessage(
                topic: topic, key: "case-\(index % 5)", value: Array("payload \(index) 案件".utf8),
                headers: [KafkaHeader(key: "ce_id", string: "id-\(index)"), KafkaHeader(key: "binary", value: [0, 255, UInt8(index)])]
            )
        }
        // No key, no value, no headers.
        messages.append(KafkaOutgoingMessage(topic: topic, key: nil as [UInt8]?, value: []))
        let results = try await producer.sendBatch(messages)
        let reports = try results.map { try $0.get() }
        #expect(reports.allSatisfy { $0.topic == topic && $0.offset >= 0 && (0..<3).contains($0.partition) })
        // Keys spread over more than one partition.
        #expect(Set(reports.map(\.partition)).count > 1)
        await producer.shutdown()

        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "round-trip-group"), logger: logger)
        try consumer.subscribe(topics: [topic])
        let received = try await consume(consumer, count: 61)
        await consumer.close()

        try #require(received.count == 61)
        let byID = Dictionary(uniqueKeysWithValues: received.compactMap { m in m.header("ce_id")?.stringValue.map { ($0, m) } })
        #expect(byID.count == 60)
        for index in 0..<60 {
            let message = try #require(byID["id-\(index)"])
            #expect(message.keyString == "case-\(index % 5)")
            #expect(String(decoding: message.value, as: UTF8.self) == "payload \(index) 案件")
            #expect(message.header("binary")?.value == [0, 255, UInt8(index)])
            #expect(message.headers.map(\.key) == ["ce_id", "binary"])
            #expect(message.timestampMilliseconds != nil)
            // Consumed exactly where the delivery report said it landed.
            #expect(message.partition == reports[index].partition && message.offset == reports[index].offset)
        }
        let bare = try #require(received.first { $0.header("ce_id") == nil })
        #expect(bare.key == nil && bare.value.isEmpty && bare.headers.isEmpty)
        // Messages of one key keep their production order.
        for key in 0..<5 {
            let order = received.filter { $0.keyString == "case-\(key)" }.compactMap { $0.header("ce_id")?.stringValue }
            #expect(order == (0..<60).filter { $0 % 5 == key }.map { "id-\($0)" })
        }
        #expect(consumer.assignment.isEmpty)
    }

    @Test func restartedConsumerResumesFromCommittedOffsets() async throws {
        let cluster = try makeCluster()
        let topic = "resume"
        try cluster.createTopic(topic, partitions: 1)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let group = "resume-group"
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        let first = try await producer.sendBatch((0..<10).map { KafkaOutgoingMessage(topic: topic, key: "k", value: Array("\($0)".utf8)) })
        #expect(first.allSatisfy { (try? $0.get()) != nil })

        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: group), logger: logger)
        try consumer.subscribe(topics: [topic])
        let firstTen = try await consume(consumer, count: 10)
        try #require(firstTen.count == 10)
        #expect(firstTen.map(\.offset) == Array(0..<10))
        // Nothing committed yet.
        #expect(try await consumer.committed([partition]).isEmpty)
        // Process (commit) only the first six.
        #expect(try await consumer.commit(Array(firstTen.prefix(6))) == [partition])
        #expect(try await consumer.committed([partition]) == [partition: 6])
        // A partition this member does not own is not committed.
        #expect(try await consumer.commit(positions: [KafkaTopicPartition(topic: "elsewhere", partition: 0): 3]).isEmpty)
        await consumer.close()

        // The mock answers only the partitions a committed-offsets request names, so
        // KafkaAdmin.committedOffsets(group:), which asks for all, is left to KafkaRoundTripTests.
        let admin = try KafkaAdmin(configuration: cluster.configuration(), logger: logger)
        #expect(try await admin.watermarks(of: partition) == KafkaAdmin.Watermarks(low: 0, high: 10))

        _ = try await producer.sendBatch((10..<12).map { KafkaOutgoingMessage(topic: topic, key: "k", value: Array("\($0)".utf8)) })
        await producer.shutdown()
        let restarted = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: group), logger: logger)
        try restarted.subscribe(topics: [topic])
        let rest = try await consume(restarted, count: 6)
        #expect(rest.map { String(decoding: $0.value, as: UTF8.self) } == ["6", "7", "8", "9", "10", "11"])
        await restarted.close()
    }

    @Test func pausedPartitionDeliversNothingUntilResumed() async throws {
        let cluster = try makeCluster()
        let topic = "pause"
        try cluster.createTopic(topic, partitions: 2)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "pause-group"), logger: logger)
        try consumer.subscribe(topics: [topic])
        try #require(await awaitAssignment(consumer, count: 2))
        let paused = KafkaTopicPartition(topic: topic, partition: 0)
        try await consumer.pause([paused])

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        let reports = try await producer.sendBatch((0..<20).map { KafkaOutgoingMessage(topic: topic, key: "key-\($0)", value: [UInt8($0)]) })
            .map { try $0.get() }
        await producer.shutdown()
        let toPaused = reports.filter { $0.partition == 0 }.count
        let toRunning = reports.count - toPaused
        try #require(toPaused > 0 && toRunning > 0, "20 keys should land on both partitions")

        // Only the running partition delivers, and nothing more arrives however long we wait.
        let whilePaused = try await consume(consumer, count: toRunning)
        #expect(whilePaused.count == toRunning)
        #expect(whilePaused.allSatisfy { $0.partition == 1 })
        #expect(try await consumer.nextBatch(maxMessages: 100, maxWaitMilliseconds: 1_000).isEmpty)
        // Still owned while paused.
        #expect(consumer.assignment.contains(paused))

        try await consumer.resume([paused])
        let afterResume = try await consume(consumer, count: toPaused)
        #expect(afterResume.count == toPaused)
        #expect(afterResume.allSatisfy { $0.partition == 0 })
        await consumer.close()
    }

    @Test func producerRetriesTransientErrorsAndSurfacesARejection() async throws {
        let cluster = try makeCluster()
        try cluster.createTopic("refused", partitions: 1)
        try cluster.createTopic("open", partitions: 1)
        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: "refused", key: "k", value: [1]))

        // Retriable broker errors are retried by librdkafka, not surfaced.
        cluster.pushRequestErrors(.produce, [.notEnoughReplicas, .notEnoughReplicas])
        let retried = try await producer.send(KafkaOutgoingMessage(topic: "refused", key: "k", value: [2]))
        #expect(retried.offset == 1)

        // A permanent refusal reaches the caller as a delivery error, at once.
        cluster.pushRequestErrors(.produce, [.topicAuthorizationFailed])
        let started = ContinuousClock.now
        do throws(KafkaError) {
            _ = try await producer.send(KafkaOutgoingMessage(topic: "refused", key: "k", value: [3]))
            Issue.record("a refused message was reported delivered")
        } catch {
            #expect(error.code == .delivery)
            #expect(error.librdkafkaCode == RDKafkaMockCluster.ErrorCode.topicAuthorizationFailed.rawValue)
            #expect(!error.isRetriable && !error.isFatal)
        }
        #expect(ContinuousClock.now - started < .seconds(5))

        // The producer itself stays usable.
        let report = try await producer.send(KafkaOutgoingMessage(topic: "open", key: "k", value: [4]))
        #expect(report.topic == "open" && report.offset == 0)
        await producer.shutdown()
    }

    @Test func producerReportsATimeoutWhileTheBrokerIsDownAndRecovers() async throws {
        let cluster = try makeCluster()
        let topic = "outage"
        try cluster.createTopic(topic, partitions: 1)
        var configuration = producerConfiguration(cluster)
        configuration.messageTimeoutMilliseconds = 1_500
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: [1]))

        cluster.setBrokerDown()
        let started = ContinuousClock.now
        let results = try await producer.sendBatch([
            KafkaOutgoingMessage(topic: topic, key: "k", value: [2]),
            KafkaOutgoingMessage(topic: topic, key: "k", value: [3]),
        ])
        // Per-message failures, not a thrown batch; bounded by message.timeout.ms, not a hang.
        #expect(ContinuousClock.now - started < .seconds(8))
        for result in results {
            #expect {
                try result.get()
            } throws: { error in
                let error = error as? KafkaError
                return error?.code == .delivery && error?.isRetriable == true
                    && error?.librdkafkaCode == RDKafkaMockCluster.ErrorCode.messageTimedOut.rawValue
            }
        }

        cluster.setBrokerUp()
        let recovered = await eventually(timeout: .seconds(10), every: .milliseconds(100)) {
            (try? await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: [4]))) != nil
        }
        #expect(recovered)
        await producer.shutdown()
    }

    @Test func adminReadsTopicsAndWatermarksAndTimesOutCreatingTopics() async throws {
        let cluster = try makeCluster(brokers: 2)
        try cluster.createTopic("admin-a", partitions: 4)
        try cluster.createTopic("admin-b", partitions: 1)
        let admin = try KafkaAdmin(configuration: cluster.configuration(), logger: logger)
        let topics = try await admin.topics()
        #expect(topics.filter { $0.name.hasPrefix("admin-") } == [
            KafkaAdmin.TopicMetadata(name: "admin-a", partitionCount: 4),
            KafkaAdmin.TopicMetadata(name: "admin-b", partitionCount: 1),
        ])

        let producer = try KafkaProducer(configuration: producerConfiguration(cluster), logger: logger)
        let reports = try await producer.sendBatch((0..<12).map { KafkaOutgoingMessage(topic: "admin-a", key: "k\($0)", value: [1]) })
            .map { try $0.get() }
        await producer.shutdown()
        var total: Int64 = 0
        for partition in Int32(0)..<4 {
            let watermarks = try await admin.watermarks(of: KafkaTopicPartition(topic: "admin-a", partition: partition))
            #expect(watermarks.low == 0)
            #expect(watermarks.high == Int64(reports.filter { $0.partition == partition }.count))
            total += watermarks.high
        }
        #expect(total == 12)

        // The mock cannot create topics through the admin API (no controller):
        // the request fails as a retriable timeout within its own timeout, not a hang.
        let started = ContinuousClock.now
        await #expect {
            try await admin.createTopics([.init(name: "admin-c", partitions: 1)], timeoutMilliseconds: 1_000)
        } throws: { error in
            (error as? KafkaError)?.code == .timeout && (error as? KafkaError)?.isRetriable == true
        }
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    /// Eager (revoke everything, assign anew) and cooperative (incremental) rebalancing.
    @Test(arguments: ["range,roundrobin", "cooperative-sticky"])
    func twoConsumersInOneGroupSplitPartitionsAndRebalance(strategy: String) async throws {
        let cluster = try makeCluster()
        let topic = "split"
        try cluster.createTopic(topic, partitions: 4)
        var configuration = consumerConfiguration(cluster, group: "split-group")
        configuration.connection.properties["partition.assignment.strategy"] = strategy
        // Cooperative rebalancing takes two rounds: keep each short.
        configuration.sessionTimeoutMilliseconds = 2_000
        let first = try KafkaConsumer(configuration: configuration, logger: logger)
        try first.subscribe(topics: [topic])
        try #require(await awaitAssignment(first, count: 4))

        let second = try KafkaConsumer(configuration: configuration, logger: logger)
        try second.subscribe(topics: [topic])
        let settled = await eventually(timeout: .seconds(15), every: .milliseconds(1)) {
            async let a = first.nextBatch(maxMessages: 10, maxWaitMilliseconds: 100)
            async let b = second.nextBatch(maxMessages: 10, maxWaitMilliseconds: 100)
            _ = try? await (a, b)
            return first.assignment.count == 2 && second.assignment.count == 2
        }
        try #require(settled, "first \(first.assignment), second \(second.assignment)")
        #expect(first.assignment.isDisjoint(with: second.assignment))

        // Positions of a partition the first member gave away are not committed.
        let given = try #require(second.assignment.first)
        #expect(try await first.commit(positions: [given: 1]).isEmpty)

        // When the second leaves, the first gets everything back.
        await second.close()
        #expect(second.assignment.isEmpty)
        #expect(await awaitAssignment(first, count: 4))
        await first.close()
    }
}
