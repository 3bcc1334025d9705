SELECT p.itemfulfillment AS transaction, p.line, p.packageweight, p.packagedescr,
           p.packagelength, p.packagewidth, p.packageheight, p.declaredvalue, p.packagetrackingnumber
    FROM itemfulfillmentpackage p
    WHERE p.itemfulfillment IN ({ids})
    ORDER BY p.itemfulfillment, p.line
  items