import Foundation
import Kafka
import Logging
import Testing
import TestSupport

/// Against the real broker started by `make test`.
@Suite(.serialized)
struct KafkaRoundTripTests {
    let logger: Logger = {
        var logger = Logger(label: "test.kafka")
        logger.logLevel = .notice
        return logger
    }()
    var connection: KafkaConfiguration { KafkaConfiguration(bootstrapServers: [TestEnvironment.kafkaBrokers], clientID: "casehub-tests") }

    func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(connection: connection, groupID: group)
        // tansu delays a group join by about half the session timeout.
        configuration.sessionTimeoutMilliseconds = 6_000
        configuration.connection.properties["heartbeat.interval.ms"] = "500"
        return configuration
    }

    func makeTopic(partitions: Int) async throws -> String {
        let admin = try KafkaAdmin(configuration: connection, logger: logger)
        let topic = TestEnvironment.uniqueName("test-topic")
        let created = try await admin.createTopics([.init(name: topic, partitions: partitions)])
        #expect(created == [topic])
        // Creating it again is not an error, and creates nothing.
        #expect(try await admin.createTopics([.init(name: topic, partitions: partitions)]).isEmpty)
        return topic
    }

    /// Consumes until `count` messages arrived or the time is up.
    func consume(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaMessage] {
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while received.count < count, ContinuousClock.now < deadline {
            received += try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200)
        }
        return received
    }

    @Test func loadedLibrdkafkaIsSupported() throws {
        try LibrdkafkaVersion.requireSupported()
        #expect(LibrdkafkaVersion.loaded.hasPrefix("2."))
    }

    @Test func roundTripKeepsKeysHeadersAndPerKeyOrder() async throws {
        let topic = try await makeTopic(partitions: 3)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let messages = (0..<300).map { index in
            KafkaOutgoingMessage(
                topic: topic, key: "case-\(index % 7)", value: Array("payload \(index) 案件".utf8),
                headers: [KafkaHeader(key: "ce_id", string: "id-\(index)"), KafkaHeader(key: "binary", value: [0, 255, UInt8(index % 256)])]
            )
        }
        let reports = try await producer.sendBatch(messages)
        #expect(reports.allSatisfy { (try? $0.get()) != nil })
        let single = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "case-0", value: Array("last".utf8)))
        #expect(single.topic == topic && single.offset >= 0)
        await producer.shutdown()

        let consumer = try KafkaConsumer(configuration: consumerConfiguration(group: TestEnvironment.uniqueName("g")), logger: logger)
        try consumer.subscribe(topics: [topic])
        let received = try await consume(consumer, count: 301)
        #expect(received.count == 301)
        let byID = Dictionary(uniqueKeysWithValues: received.compactMap { m in m.header("ce_id")?.stringValue.map { ($0, m) } })
        let sample = try #require(byID["id-42"])
        #expect(sample.keyString == "case-0")
        #expect(String(decoding: sample.value, as: UTF8.self) == "payload 42 案件")
        #expect(sample.header("binary")?.value == [0, 255, 42])
        // Messages of one key keep their production order.
        for key in 0..<7 {
            let order = received.filter { $0.keyString == "case-\(key)" }.compactMap { $0.header("ce_id")?.stringValue }
            let expected = (0..<300).filter { $0 % 7 == key }.map { "id-\($0)" }
            #expect(Array(order.prefix(expected.count)) == expected)
        }
        await consumer.close()
    }

    @Test func twoConsumersInOneGroupSplitPartitions() async throws {
        let topic = try await makeTopic(partitions: 4)
        let group = TestEnvironment.uniqueName("split")
        let first = try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger)
        let second = try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger)
        try first.subscribe(topics: [topic])
        try second.subscribe(topics: [topic])
        // Both poll until the group has settled with each owning some partitions.
        let settled = await eventually(timeout: .seconds(40)) {
            async let a = first.nextBatch(maxMessages: 10, maxWaitMilliseconds: 200)
            async let b = second.nextBatch(maxMessages: 10, maxWaitMilliseconds: 200)
            _ = try? await (a, b)
            return !first.assignment.isEmpty && !second.assignment.isEmpty
                && first.assignment.union(second.assignment).count == 4
        }
        #expect(settled)
        #expect(first.assignment.isDisjoint(with: second.assignment))

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let results = try await producer.sendBatch((0..<200).map {
            KafkaOutgoingMessage(topic: topic, key: "k\($0)", value: Array("\($0)".utf8))
        })
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        await producer.shutdown()

        var fromFirst: [KafkaMessage] = []
        var fromSecond: [KafkaMessage] = []
        _ = await eventually(timeout: .seconds(30)) {
            async let a = first.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200)
            async let b = second.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200)
            let (batchA, batchB) = try! await (a, b)
            fromFirst += batchA
            fromSecond += batchB
            return fromFirst.count + fromSecond.count >= 200
        }
        #expect(fromFirst.count + fromSecond.count == 200)
        #expect(!fromFirst.isEmpty && !fromSecond.isEmpty)
        let partitionsA = Set(fromFirst.map(\.partition))
        let partitionsB = Set(fromSecond.map(\.partition))
        #expect(partitionsA.isDisjoint(with: partitionsB))
        await first.close()
        await second.close()
    }

    @Test func restartedConsumerResumesFromCommittedOffsets() async throws {
        let topic = try await makeTopic(partitions: 1)
        let group = TestEnvironment.uniqueName("resume")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        _ = try await producer.sendBatch((0..<9).map { KafkaOutgoingMessage(topic: topic, key: "k", value: Array("\($0)".utf8)) })
        // Sent alone: tansu reports the high watermark as its last batch's base
        // offset + 1, which is right only when that batch holds one message.
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: Array("9".utf8)))

        let first = try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger)
        try first.subscribe(topics: [topic])
        let firstTen = try await consume(first, count: 10)
        #expect(firstTen.count == 10)
        // Process (commit) only the first six.
        let committed = try await first.commit(Array(firstTen.prefix(6)))
        #expect(committed == [KafkaTopicPartition(topic: topic, partition: 0)])
        await first.close()

        let admin = try KafkaAdmin(configuration: connection, logger: logger)
        let positions = try await admin.committedOffsets(group: group)
        #expect(positions[KafkaTopicPartition(topic: topic, partition: 0)] == 6)
        let watermarks = try await admin.watermarks(of: KafkaTopicPartition(topic: topic, partition: 0))
        #expect(watermarks.high == 10)

        _ = try await producer.sendBatch((10..<12).map { KafkaOutgoingMessage(topic: topic, key: "k", value: Array("\($0)".utf8)) })
        await producer.shutdown()
        let second = try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger)
        try second.subscribe(topics: [topic])
        let rest = try await consume(second, count: 6)
        #expect(rest.map { String(decoding: $0.value, as: UTF8.self) } == ["6", "7", "8", "9", "10", "11"])
        await second.close()
    }

    @Test func commitSkipsPartitionsNoLongerOwned() async throws {
        let topic = try await makeTopic(partitions: 1)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(group: TestEnvironment.uniqueName("owned")), logger: logger)
        try consumer.subscribe(topics: [topic])
        _ = await eventually { (try? await consumer.nextBatch(maxMessages: 1, maxWaitMilliseconds: 200)) != nil && !consumer.assignment.isEmpty }
        let foreign = KafkaTopicPartition(topic: topic + "-other", partition: 0)
        let done = try await consumer.commit(positions: [foreign: 5])
        #expect(done.isEmpty)
        await consumer.close()
        #expect(consumer.assignment.isEmpty)
    }

    @Test func pausedPartitionsDeliverNothingUntilResumed() async throws {
        let topic = try await makeTopic(partitions: 1)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration(group: TestEnvironment.uniqueName("pause")), logger: logger)
        try consumer.subscribe(topics: [topic])
        _ = await eventually { (try? await consumer.nextBatch(maxMessages: 1, maxWaitMilliseconds: 200)) != nil && !consumer.assignment.isEmpty }
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try await consumer.pause([partition])
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        _ = try await producer.send(KafkaOutgoingMessage(topic: topic, key: "k", value: [1]))
        await producer.shutdown()
        let whilePaused = try await consumer.nextBatch(maxMessages: 10, maxWaitMilliseconds: 1_500)
        #expect(whilePaused.isEmpty)
        try await consumer.resume([partition])
        let afterResume = try await consume(consumer, count: 1)
        #expect(afterResume.count == 1)
        await consumer.close()
    }

    @Test func adminListsTopicsWithPartitionCounts() async throws {
        let topic = try await makeTopic(partitions: 2)
        let admin = try KafkaAdmin(configuration: connection, logger: logger)
        let topics = try await admin.topics()
        #expect(topics.first { $0.name == topic }?.partitionCount == 2)
    }

    @Test func producerToDeadAddressFailsWithClearError() async throws {
        var configuration = KafkaProducerConfiguration(connection: KafkaConfiguration(bootstrapServers: ["127.0.0.1:1"]))
        configuration.messageTimeoutMilliseconds = 2_000
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let started = ContinuousClock.now
        await #expect(throws: KafkaError.self) {
            _ = try await producer.send(KafkaOutgoingMessage(topic: "nowhere", key: "k", value: [1]))
        }
        // Bounded by message.timeout.ms, not a hang (generous margin for a loaded machine).
        #expect(ContinuousClock.now - started < .seconds(20))
        await producer.shutdown()
    }

    @Test func unknownPropertyIsAConfigurationError() {
        var configuration = KafkaProducerConfiguration(connection: connection)
        configuration.connection.properties["no.such.property"] = "1"
        #expect {
            _ = try KafkaProducer(configuration: configuration, logger: logger)
        } throws: { error in
            (error as? KafkaError)?.code == .configuration && "\(error)".contains("no.such.property")
        }
    }
}
