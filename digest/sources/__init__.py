"""Where papers come from: the listing pages and the RSS feed (latest announcement), the export API (any past date)."""
