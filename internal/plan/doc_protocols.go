package plan

// docProtocol is one of the other clients' protocols the collector accepts,
// for the "What data is collected?" page: what it reads and what it drops.
// The mapping itself is package compat's; its doc.go holds the full tables.
type docProtocol struct {
	Name    string
	Routes  []seg
	Read    []docItem
	Dropped []seg
}

func protocolsDoc() []docProtocol {
	return []docProtocol{
		{
			Name:   "Strapi's own telemetry sender",
			Routes: text("`POST /api/v2/track`, one event a request."),
			Read: []docItem{
				{"Event", text("`event`; only events listed above are stored, the others are counted and dropped.")},
				{"Project ID", text("`groupProperties.projectId`, re-keyed like any project ID.")},
				{"Machine ID", text("A keyed hash of `installId` (or the older `deviceId`), re-keyed; the raw ID is not kept.")},
				{"Time", text("The time the collector receives the event.")},
				{"Environment", text("`userProperties.environment`, else `groupProperties.environment`, else `other`.")},
				{"Context", text("`userProperties.osPlatform`, `osRelease`, `osArch`, `nodeVersion`; `groupProperties.version`, `isCI`, `docker`.")},
				{"Build and properties", text("The `groupProperties` keys this plan lists under build configuration; `eventProperties` as this plan allows.")},
			},
			Dropped: text("`userId` (a hash of an administrator's e-mail address), the raw `installId` and `deviceId`, `userProperties.os`, and every other `groupProperties` key (`projectType`, `useTypescriptOnServer`, package.json keys the plan does not list, …)."),
		},
		{
			Name:   "PostHog SDKs (posthog-node, posthog-go)",
			Routes: text("`POST /posthog/batch/`, `/posthog/capture/`, `/posthog/e/`, `/posthog/i/v0/e/`."),
			Read: []docItem{
				{"Event", text("`event`; `$identify`, `$groupidentify`, `$create_alias`, `$set`, `$pageview`, `$pageleave`, `$screen` and `$autocapture` are answered and dropped unless listed above.")},
				{"Event ID", text("`uuid`, so that a retried event is stored once.")},
				{"Project ID", text("`properties.$groups.project`, else `properties.projectId`.")},
				{"Machine ID", text("A keyed hash of `distinct_id`, re-keyed; the raw ID is not kept.")},
				{"Time", text("`timestamp`, corrected by `sent_at`.")},
				{"Environment", text("`properties.environment`, else `other`.")},
				{"Context", text("`$os`, `$os_version`, `$lib`, `$lib_version`, `$app_version`.")},
				{"Properties", text("`properties` as this plan allows, never a key starting with `$`.")},
			},
			Dropped: text("`$ip`, `$set`, `$set_once`, `$current_url`, `$referrer`, `$groups` beyond the project, person and group properties, the raw `distinct_id`, and the API key."),
		},
		{
			Name:   "Segment libraries (analytics-go, @segment/analytics-node)",
			Routes: text("`POST /segment/v1/batch`, `/segment/v1/track`."),
			Read: []docItem{
				{"Event", text("`event` of `track` calls; `identify`, `page`, `screen`, `group` and `alias` calls are answered and dropped.")},
				{"Event ID", text("A UUID derived from `messageId`, so that a retried call is stored once.")},
				{"Project ID", text("`context.groupId`, else `properties.projectId`.")},
				{"Machine ID", text("A keyed hash of `anonymousId`, else of `userId`, re-keyed; the raw IDs are not kept.")},
				{"Time", text("`timestamp`, corrected by `sentAt`.")},
				{"Environment", text("`properties.environment`, else `context.environment`, else `other`.")},
				{"Context", text("`context.os.name`, `context.os.version`, `context.library`, `context.app.version`.")},
				{"Properties", text("`properties` as this plan allows.")},
			},
			Dropped: text("The raw `userId` and `anonymousId`, `context.ip`, `context.userAgent`, `context.traits`, `context.page` and page URLs, every other `context` key, and the write key."),
		},
	}
}
