"""Where papers come from: the RSS feed (latest announcement) and the export API (any past date)."""
