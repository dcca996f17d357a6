/**
 * The AWS SDK warns on every start that its 2027 releases will need Node 22. Locally that is noise
 * on each run (Lambda runs Node 24 and never sees it); the SDK's own switch turns it off.
 * Imported first by the local entry points, before any SDK client exists.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
